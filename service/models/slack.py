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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime, utcnow

DEFAULT_SCHEDULE = "weekly fri 16:00"
# A newly linked channel hears of milestones, sprint starts and kudos as they happen: a few posts a
# day at most, and they are what people react to. Channels linked before live celebrations existed
# stay ``off`` (the migration's server default): they never asked for more posts.
DEFAULT_LIVE = "milestones"
LIVE_OFF = "off"
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
    # ``off``, ``milestones`` or ``all`` (``service.domain.commands.LiveMode``): which wins are
    # posted as they happen. ``live_since`` is when it was last switched on: older wins are not news.
    live: Mapped[str] = mapped_column(String(16), default=DEFAULT_LIVE, server_default=LIVE_OFF)
    live_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class CelebratedWin(Base):
    """A win a stored post (a digest row: a digest, a sprint-end or a live celebration) shows.

    How a reaction on one post becomes a cheer on each of its wins, and how a live celebration
    knows a win was already posted to a channel. Written before the post is sent, with the row.
    """

    __tablename__ = "celebrated_wins"
    __table_args__ = (PrimaryKeyConstraint("digest_id", "win_id"),)

    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    win_id: Mapped[int] = mapped_column(ForeignKey("wins.id", ondelete="CASCADE"), index=True)


class WorkspaceAdmin(Base):
    """Someone a workspace admin named a Sprint Wins admin (``/sprintwins admin add``).

    Slack's own admins and owners are admins without a row here (see ``CachedSlackRole``). Keyed by the
    Slack workspace, as every workspace setting is. ``display_name`` is what refusals show when
    they say whom to ask, as Slack told it when the person was named.
    """

    __tablename__ = "workspace_admins"
    __table_args__ = (UniqueConstraint("slack_team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_team_id: Mapped[str] = mapped_column(String(32))
    slack_enterprise_id: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200))
    added_by_user_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CachedSlackRole(Base):
    """What ``users.info`` last said of a person's Slack role, so a command asks at most once per TTL.

    ``is_owner`` covers owners and the primary owner. A row older than the TTL
    (``service.slack.roles.ROLE_TTL``) is asked again: someone demoted in Slack loses their rights.
    """

    __tablename__ = "slack_roles"
    __table_args__ = (UniqueConstraint("slack_team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_team_id: Mapped[str] = mapped_column(String(32))
    slack_enterprise_id: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_owner: Mapped[bool] = mapped_column(default=False)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DigestCheer(Base):
    """A reaction on a posted digest: a cheer on the digest itself (its wins get theirs in ``cheers``)."""

    __tablename__ = "digest_cheers"
    __table_args__ = (UniqueConstraint("digest_id", "user_id", "reaction"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
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
