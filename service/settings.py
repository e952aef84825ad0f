"""The one settings object, read from ``SPRINTWINS_*`` environment variables.

Defaults are the embedded mode: an SQLite file and jobs run in the same process, so a
fresh clone runs with no Postgres, Redis or Slack.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFIX = "SPRINTWINS_"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _default_database_url() -> str:
    return f"sqlite:///{Path('var/sprintwins.db').absolute()}"


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # "production" makes missing secrets fatal at start-up
    database_url: str = field(default_factory=_default_database_url)
    redis_url: str | None = None  # unset: jobs run in-process
    queue_name: str = "sprintwins"
    jira_webhook_secret: str | None = field(default=None, repr=False)
    max_body_bytes: int = 1_048_576
    story_points_field: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    inbox_batch_size: int = 1000  # measured: 1,000 beats 500 by about 30% with 2 workers (docs/benchmarks.md)
    sweep_interval_seconds: int = 60
    # A web process asks Redis for a drain job at most this often (always once after the last
    # delivery): under load most deliveries skip that round trip. 0 asks for every delivery.
    drain_request_interval_ms: int = 50
    api_token: str | None = field(default=None, repr=False)  # when set, the JSON API wants a Bearer token
    bench_endpoints: bool = False
    # Jira REST (progress engine); absent means scope is inferred from events.
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = field(default=None, repr=False)
    jira_pat: str | None = field(default=None, repr=False)
    # Slack
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None
    token_encryption_key: str | None = field(default=None, repr=False)
    # -- more settings (one block per area) --
    # Jira REST limits: the library retries 429/503 this many times, sleeping at most this long.
    jira_max_retries: int = 3
    jira_max_retry_delay_seconds: int = 30
    jira_timeout_seconds: int = 30

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def in_process_jobs(self) -> bool:
        return not self.redis_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``SPRINTWINS_*`` variables, then explicit overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes: Any) -> Settings:
        updated = dataclasses.replace(self, **changes)
        updated.validate()
        return updated

    def validate(self) -> None:
        if self.env not in {"development", "production", "test"}:
            raise SettingsError(f"{PREFIX}ENV must be development, production or test, not {self.env!r}")
        if self.max_body_bytes < 1024:
            raise SettingsError(f"{PREFIX}MAX_BODY_BYTES must be at least 1024")
        if self.inbox_batch_size < 1:
            raise SettingsError(f"{PREFIX}INBOX_BATCH_SIZE must be at least 1")
        if not 0 <= self.drain_request_interval_ms <= 5000:
            raise SettingsError(f"{PREFIX}DRAIN_REQUEST_INTERVAL_MS must be between 0 and 5000")

    def require_production_secrets(self) -> None:
        """Production refuses to serve unauthenticated webhooks."""
        if self.production and not self.jira_webhook_secret:
            raise SettingsError(
                f"{PREFIX}JIRA_WEBHOOK_SECRET is required when {PREFIX}ENV=production: "
                "without it anyone could post fake Jira events"
            )


def _coerce(name: str, type_name: Any, raw: str) -> Any:
    type_text = str(type_name)
    if type_text.startswith("bool"):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{PREFIX}{name.upper()} must be true or false, not {raw!r}")
    if type_text.startswith("int"):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{PREFIX}{name.upper()} must be a whole number, not {raw!r}") from None
    return raw
