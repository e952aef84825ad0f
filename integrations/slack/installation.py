"""Where Slack tokens come from: the single-workspace token, or OAuth installations kept encrypted.

Encryption is a thin ``InstallationStore`` that delegates to slack_sdk's
``SQLAlchemyInstallationStore``: it encrypts the token fields of an ``Installation``/``Bot`` before
the inner store saves them, and decrypts what the inner store finds. Delegating (rather than
subclassing) matters because the inner ``save`` calls ``self.save_bot`` on an already-encrypted
copy; a subclass override would encrypt twice. The inner store stays maintained upstream and
keeps every query it has.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from cryptography.fernet import Fernet, InvalidToken
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from sqlalchemy.engine import Engine

from service.settings import PREFIX, Settings, SettingsError

if TYPE_CHECKING:
    # Imported lazily at run time: slack_sdk's SQLAlchemy stores pull in sqlalchemy.ext.asyncio
    # (and so greenlet), which only the multi-workspace mode needs.
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

log = logging.getLogger(__name__)

SLACK_API_URL = "https://slack.com/api/"
# OAuth state lives ten minutes, as Bolt's default: long enough to click through the consent screen.
STATE_EXPIRATION_SECONDS = 600
_TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")

_T = TypeVar("_T", Installation, Bot)


class SlackNotInstalled(LookupError):
    """No usable bot token for a workspace (never installed, uninstalled, or tokens revoked)."""


class TokenCipher:
    """Fernet encryption for tokens at rest; the key is ``SPRINTWINS_TOKEN_ENCRYPTION_KEY``."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError):
            raise SettingsError(
                f"{PREFIX}TOKEN_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64 bytes); "
                'make one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            ) from None

    def encrypt(self, token: str | None) -> str | None:
        return None if token is None else self._fernet.encrypt(token.encode()).decode()

    def decrypt(self, stored: str | None) -> str | None:
        if stored is None:
            return None
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            # A rotated key or a row written in clear: treat as no token rather than leak or crash.
            log.error(
                "a stored Slack token or Jira site secret could not be decrypted with the configured key"
            )
            return None


class EncryptedInstallationStore(InstallationStore):
    """Encrypts token fields on the way in and decrypts them on the way out; the rest is delegated."""

    def __init__(self, inner: SQLAlchemyInstallationStore, cipher: TokenCipher) -> None:
        self.inner = inner
        self.cipher = cipher

    @property
    def logger(self) -> logging.Logger:
        return self.inner.logger

    def save(self, installation: Installation) -> None:
        self.inner.save(self._transform(installation, self.cipher.encrypt))

    def save_bot(self, bot: Bot) -> None:
        self.inner.save_bot(self._transform(bot, self.cipher.encrypt))

    def find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        bot = self.inner.find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return None if bot is None else self._transform(bot, self.cipher.decrypt)

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        installation = self.inner.find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return None if installation is None else self._transform(installation, self.cipher.decrypt)

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.inner.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self.inner.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.inner.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        self.inner.delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    @staticmethod
    def _transform(entity: _T, convert: Callable[[str | None], str | None]) -> _T:
        # Copy first: Bolt keeps using the Installation it handed us, with its clear-text tokens.
        copy = _copy(entity)
        for name in _TOKEN_FIELDS:
            if hasattr(copy, name):
                setattr(copy, name, convert(getattr(copy, name)))
        return copy


def _copy(entity: _T) -> _T:
    if dataclasses.is_dataclass(entity):  # pragma: no cover - slack_sdk's models are plain classes
        return dataclasses.replace(entity)
    clone = object.__new__(type(entity))
    clone.__dict__.update(entity.__dict__)
    return clone


# -- settings ------------------------------------------------------------------------------------------------


def oauth_enabled(settings: Settings) -> bool:
    """Multi-workspace mode: the app's client id and secret are set, and no single bot token is.

    A single-workspace install (a bot token) may set the client id and secret too, for Sign in with
    Slack alone: that must not turn its Slack side into OAuth installs.
    """
    return bool(settings.slack_client_id and settings.slack_client_secret and not settings.slack_bot_token)


def slack_enabled(settings: Settings) -> bool:
    return oauth_enabled(settings) or bool(settings.slack_bot_token)


def require_slack_settings(settings: Settings) -> None:
    """Refuse half a configuration at start-up, with the variable to set."""
    if not slack_enabled(settings):
        return
    if not settings.slack_signing_secret:
        raise SettingsError(
            f"{PREFIX}SLACK_SIGNING_SECRET is required with Slack enabled: "
            "without it anyone could forge Slack requests"
        )
    if bool(settings.slack_client_id) != bool(settings.slack_client_secret):
        raise SettingsError(f"set both {PREFIX}SLACK_CLIENT_ID and {PREFIX}SLACK_CLIENT_SECRET, or neither")
    if oauth_enabled(settings) and not settings.token_encryption_key:
        raise SettingsError(
            f"{PREFIX}TOKEN_ENCRYPTION_KEY is required for multi-workspace installs: "
            "tokens are encrypted at rest"
        )


def api_base_url(settings: Settings) -> str:
    url = settings.slack_api_url or SLACK_API_URL
    return url if url.endswith("/") else url + "/"


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient on the configured API URL that waits out 429s and retries dropped connections."""
    return WebClient(
        token=token,
        base_url=api_base_url(settings),
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_installation_store(settings: Settings, engine: Engine) -> EncryptedInstallationStore:
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

    assert settings.slack_client_id and settings.token_encryption_key
    inner = SQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=engine, logger=log)
    return EncryptedInstallationStore(inner, TokenCipher(settings.token_encryption_key))


def build_state_store(engine: Engine) -> SQLAlchemyOAuthStateStore:
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    return SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine, logger=log)


def bot_token_for(
    settings: Settings, engine: Engine, team_id: str | None, enterprise_id: str | None = None
) -> str:
    """The bot token to act in a workspace; raises SlackNotInstalled when there is none."""
    if oauth_enabled(settings):
        store = build_installation_store(settings, engine)
        bot = store.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None and enterprise_id is not None:
            # An org-wide install answers for every workspace of the enterprise.
            bot = store.find_bot(enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True)
        if bot is None or not bot.bot_token:
            raise SlackNotInstalled(f"Sprint Wins is not installed in Slack workspace {team_id}")
        return bot.bot_token
    if settings.slack_bot_token:
        return settings.slack_bot_token
    raise SlackNotInstalled("Slack is not configured (no bot token and no OAuth credentials)")


def client_for_team(
    settings: Settings, engine: Engine, team_id: str | None, enterprise_id: str | None = None
) -> WebClient:
    """A WebClient acting as our bot in ``team_id``: what jobs (and the poster) use."""
    return web_client(settings, bot_token_for(settings, engine, team_id, enterprise_id))
