"""Workspaces: the root of all data. Each organisation's teams, people, sites and tokens hang off one.

A Slack install creates (or finds) the workspace of its Slack team; ``sprintwins workspace create``
makes one without Slack. The embedded default and single-workspace Slack mode use the implicit
workspace, row ``DEFAULT_WORKSPACE_ID``, which the migration creates and which always exists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models.base import Base, UTCDateTime, utcnow

DEFAULT_WORKSPACE_ID = 1
DEFAULT_WORKSPACE_SLUG = "default"


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The Slack workspace (team id) this one stands for; NULL for a Jira-only workspace.
    slack_team_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    slack_enterprise_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JiraSite(Base):
    """A Jira site that sends a workspace its webhooks at ``/webhooks/jira/<key>``.

    The secrets are Fernet ciphertext (``SPRINTWINS_TOKEN_ENCRYPTION_KEY``): a webhook signature is an
    HMAC, so the secret must be recoverable, unlike an API token's. ``previous_secret`` is still
    accepted until ``previous_valid_until``, so a rotation loses no delivery.
    """

    __tablename__ = "jira_sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    base_url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # REST credentials for backfill and sprint scope (Fernet ciphertext too), if any.
    rest_email: Mapped[str | None] = mapped_column(String(320))
    rest_token: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token for ``/api/v1``: stored as a SHA-256 hash, scoped to one workspace."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    can_write: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShareLink(Base):
    """A read-only link to one team's page, for a wall display: stored as a SHA-256 hash, with an end.

    The link's holder sees that team's page and its live feed, nothing else of the workspace.
    """

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
