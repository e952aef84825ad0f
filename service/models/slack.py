"""Slack persistence: channel links, our posts, cheers, and the tables slack_sdk's OAuth stores use.

The three ``slack_*`` OAuth tables belong to slack_sdk's ``SQLAlchemyInstallationStore`` and
``SQLAlchemyOAuthStateStore``, which query them through Table objects of their own. They are
mirrored here, column for column, so our Alembic migration creates them and the migration test
sees them. One deliberate difference: the token columns are wider than the store's
``String(200)``, because they hold Fernet ciphertext (about 1.4 times the token plus 77 bytes), and
rotating tokens (``xoxe.xoxb-…``) are already long in clear. Their timestamps stay naive UTC, as
the stores write them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime, utcnow

DEFAULT_SCHEDULE = "weekly fri 16:00"
ENCRYPTED_TOKEN_LENGTH = 1000


class ChannelLink(Base):
    """A Slack channel connected to a team, with its digest schedule.

    ``schedule`` is ``service.domain.schedule.format_schedule`` text; the digest scheduler reads
    it with ``parse_schedule``. ``paused`` stops digests without forgetting the schedule.
    """

    __tablename__ = "channel_links"
    __table_args__ = (UniqueConstraint("slack_team_id", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    slack_team_id: Mapped[str] = mapped_column(String(32))
    slack_enterprise_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    linked_by_user_id: Mapped[str] = mapped_column(String(32))
    schedule: Mapped[str] = mapped_column(String(100), default=DEFAULT_SCHEDULE)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    paused: Mapped[bool] = mapped_column(default=False)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlackPost(Base):
    """A message we posted: how a reaction on (team, channel, ts) finds the win or digest it cheers."""

    __tablename__ = "slack_posts"
    __table_args__ = (UniqueConstraint("slack_team_id", "channel_id", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    win_id: Mapped[int | None] = mapped_column(ForeignKey("wins.id", ondelete="CASCADE"), index=True)
    # No foreign key: digests live in the digest module's tables, which this one does not depend on.
    digest_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Cheer(Base):
    """A reaction someone left on one of our celebration posts: a morale signal on that win."""

    __tablename__ = "cheers"
    __table_args__ = (UniqueConstraint("win_id", "user_id", "reaction"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    win_id: Mapped[int] = mapped_column(ForeignKey("wins.id", ondelete="CASCADE"))
    slack_team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    reaction: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- slack_sdk's OAuth store tables (see the module docstring) ------------------------------------------


def _team_and_bot_columns() -> list[Column[object]]:
    """The columns an installation and a bot share; new objects each call (a Column has one table)."""
    return [
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        Column("bot_token", String(ENCRYPTED_TOKEN_LENGTH)),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", String(ENCRYPTED_TOKEN_LENGTH)),
        Column("bot_token_expires_at", DateTime),
    ]


slack_installations = Table(
    "slack_installations",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("enterprise_url", String(200)),
    *_team_and_bot_columns(),
    Column("user_id", String(32), nullable=False),
    Column("user_token", String(ENCRYPTED_TOKEN_LENGTH)),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", String(ENCRYPTED_TOKEN_LENGTH)),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False),
    Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)

slack_bots = Table(
    "slack_bots",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    *_team_and_bot_columns(),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("installed_at", DateTime, nullable=False),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    "slack_oauth_states",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)
