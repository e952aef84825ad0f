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


def _setting(default: Any, doc: str) -> Any:
    """A field with the text ``docs/configuration.md`` shows for it (service/cli/settings_doc.py)."""
    return field(default=default, metadata={"doc": doc})


def _secret(doc: str) -> Any:
    """A secret: never in ``repr``, so never in a log line or traceback."""
    return field(default=None, repr=False, metadata={"doc": doc})


@dataclass(frozen=True)
class Settings:
    env: str = _setting(
        "development",
        "`development`, `test` or `production`. Production refuses to start without the webhook "
        "secret, or with any secret that is blank.",
    )
    database_url: str = field(
        default_factory=_default_database_url,
        metadata={
            "doc": "SQLAlchemy URL; `postgresql://` uses psycopg 3. The default is the embedded SQLite file."
        },
    )
    redis_url: str | None = _setting(
        None, "Redis for the RQ queue. Unset: jobs run inside the web process (embedded mode)."
    )
    queue_name: str = _setting(
        "sprintwins", "The RQ queue the web process enqueues on and workers listen to."
    )
    jira_webhook_secret: str | None = _secret("Verifies `X-Hub-Signature: sha256=…` on every Jira delivery.")
    jira_webhook_previous_secret: str | None = _secret(
        "While rotating: the old webhook secret, still accepted until you remove it (docs/operations.md)."
    )
    max_body_bytes: int = _setting(1_048_576, "Larger request bodies get 413 (at least 1024).")
    story_points_field: str | None = _setting(
        None, "The Jira field holding story points, e.g. `customfield_10016`; unset tries the common ids."
    )
    public_url: str = _setting(
        "http://127.0.0.1:8000", "The service's public base URL, for links and `events replay`."
    )
    log_level: str = _setting("INFO", "`DEBUG`, `INFO`, `WARNING` or `ERROR`.")
    # measured: 1,000 beats 500 by about 30% with 2 workers (docs/benchmarks.md)
    inbox_batch_size: int = _setting(1000, "Inbox rows one job may drain.")
    sweep_interval_seconds: int = _setting(
        60, "How often the scheduler sweeps the inbox for pending deliveries."
    )
    # A web process asks Redis for a drain job at most this often (always once after the last
    # delivery): under load most deliveries skip that round trip. 0 asks for every delivery.
    drain_request_interval_ms: int = _setting(
        50, "A web process asks for a drain job at most this often (0 to 5000; 0: after every delivery)."
    )
    api_token: str | None = _secret(
        "Legacy: a read-write Bearer key for the default workspace's `/api/v1` and dashboard. Prefer "
        "`sprintwins token create` (a token per workspace, read-only or read-write)."
    )
    bench_endpoints: bool = _setting(
        False, "Mounts `POST /_bench/noop`, the benchmarks' baseline. Never in production."
    )
    # Jira REST (progress engine); absent means scope is inferred from events.
    jira_url: str | None = _setting(None, "Jira base URL for REST reads (sprint scope, backfill).")
    jira_email: str | None = _setting(None, "Jira Cloud: the account that owns `SPRINTWINS_JIRA_API_TOKEN`.")
    jira_api_token: str | None = _secret("Jira Cloud API token, with `SPRINTWINS_JIRA_EMAIL`.")
    jira_pat: str | None = _secret("Jira Server/Data Center personal access token.")
    # Slack
    slack_bot_token: str | None = _secret("Single-workspace mode: the bot token (`xoxb-…`).")
    slack_signing_secret: str | None = _secret("Slack's signing secret; required for any Slack mode.")
    slack_client_id: str | None = _setting(
        None, "Multi-workspace mode: the OAuth client id (install at `/slack/install`)."
    )
    slack_client_secret: str | None = _secret("Multi-workspace mode: the OAuth client secret.")
    slack_api_url: str | None = _setting(None, "Another Slack Web API base URL (tests use a local stand-in).")
    token_encryption_key: str | None = _secret(
        "Fernet key that encrypts stored Slack bot tokens (multi-workspace mode) and Jira sites' secrets "
        "and credentials; changing it needs reinstalls and new site secrets."
    )
    # -- more settings (one block per area) --
    # Jira REST limits: the library retries 429/503 this many times, sleeping at most this long.
    jira_max_retries: int = _setting(3, "Jira REST: retries of a 429 or 503.")
    jira_max_retry_delay_seconds: int = _setting(30, "Jira REST: the longest sleep between retries.")
    jira_timeout_seconds: int = _setting(30, "Jira REST: the timeout of one request.")
    # Metrics and logs (docs/operations.md, "Metrics and logs").
    metrics_token: str | None = _secret(
        "`GET /metrics` on the web port wants it as a Bearer token; unset: no `/metrics`."
    )
    metrics_port: int | None = _setting(
        None, "Workers and the scheduler serve `/metrics` on this port when set."
    )
    log_format: str = _setting(
        "auto", "`json`, `console`, or `auto`: console on a terminal outside production."
    )
    # Off by default: a line per ack is I/O on the hot path (the intake acks ~1,300 requests/s).
    log_requests: bool = _setting(False, "A log line per HTTP request.")
    # Privacy (docs/privacy.md): how long a processed webhook keeps its raw body.
    inbox_retention_days: int = field(
        default=30,
        metadata={
            "doc": "Days a processed Jira webhook keeps its raw body; then the body is emptied "
            "(the row stays, so a redelivery is still recognised). Pending and failed ones are kept."
        },
    )
    # Sign in with Slack (service/web/signin.py): on when the Slack client id and secret are set.
    session_secret: str | None = _secret(
        "Signs the sign-in cookie; required in production when Sign in with Slack is on (the Slack "
        "client id and secret are set). Changing it signs everyone out."
    )
    slack_oidc_jwks_url: str = _setting(
        "https://slack.com/openid/connect/keys",
        "Where Slack publishes the keys that sign Sign in with Slack's id tokens (tests use a stand-in).",
    )

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
        if self.log_format not in {"auto", "json", "console"}:
            raise SettingsError(f"{PREFIX}LOG_FORMAT must be auto, json or console, not {self.log_format!r}")
        if self.inbox_retention_days < 1:
            raise SettingsError(f"{PREFIX}INBOX_RETENTION_DAYS must be at least 1")
        if self.metrics_port is not None and not 1 <= self.metrics_port <= 65535:
            raise SettingsError(f"{PREFIX}METRICS_PORT must be a port number between 1 and 65535")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            # A secret of spaces (a template left unfilled, a stray newline) verifies nothing real.
            if not f.repr and isinstance(value, str) and not value.strip():
                raise SettingsError(f"{PREFIX}{f.name.upper()} is blank: set a real secret or unset it")

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
