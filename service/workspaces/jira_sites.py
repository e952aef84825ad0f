"""Jira sites: where a workspace's webhooks come from, the secrets that sign them, and REST credentials.

Each site has a key of its own in its webhook URL (``/webhooks/jira/<key>``), so two organisations
whose Jira projects share a key still land in two workspaces. Secrets and credentials are stored as
ciphertext; this package takes the cipher from its caller (the edges build it from
``SPRINTWINS_TOKEN_ENCRYPTION_KEY``), because a feature package never imports an integration.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypedDict
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import JiraSite, Workspace, utcnow

# What ``secrets.token_urlsafe`` makes, bounded by the column: the edge refuses anything else unread.
_SITE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SITE_KEY_BYTES = 16  # 22 characters in the URL; guessing one is not a way in (the body is signed too)
SECRET_BYTES = 32
BASE_URL_MAX = 500
# A Fernet token of the email must fit ``rest_email`` (320 characters): about 1.4 x length + 77.
REST_EMAIL_MAX = 160
ROTATION_GRACE_MAX = timedelta(days=30)


class JiraSiteError(ValueError):
    """A Jira site command that cannot be carried out; the message says why."""


class SecretsUnreadable(RuntimeError):
    """A site's stored secrets cannot be decrypted: no encryption key here, or another key than the one
    that wrote them. An operator's fix, never the sender's: the edge answers 503 so Jira retries."""


class SecretCipher(Protocol):
    """Encrypts secrets at rest (``integrations.slack.installation.TokenCipher`` is the one in use)."""

    def encrypt(self, token: str | None) -> str | None: ...

    def decrypt(self, stored: str | None) -> str | None: ...


def is_site_key(value: str) -> bool:
    """Whether ``value`` could be a site's key at all: anything else is unknown without a query."""
    return _SITE_KEY.fullmatch(value) is not None


def normalised_base_url(url: str) -> str:
    """The Jira base URL to store: http or https, a host, no credentials, query or fragment in it."""
    text = url.strip()
    if not text or len(text) > BASE_URL_MAX or not text.isprintable() or " " in text:
        raise JiraSiteError(
            f"the Jira URL must be a printable http(s) URL of at most {BASE_URL_MAX} characters"
        )
    try:
        parts = urlsplit(text)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise JiraSiteError("the Jira URL is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise JiraSiteError("the Jira URL must start with https:// (or http://)")
    if parts.username is not None or parts.password is not None:
        raise JiraSiteError(
            "the Jira URL must not carry credentials; give --email and --api-token-env instead"
        )
    if not parts.hostname:
        raise JiraSiteError("the Jira URL has no host name")
    if parts.query or parts.fragment:
        raise JiraSiteError("the Jira URL must be the site's base URL, without a query or fragment")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


# -- the sites ----------------------------------------------------------------------------------------


def add_site(
    session: Session,
    workspace_id: int,
    base_url: str,
    cipher: SecretCipher,
    *,
    rest_email: str | None = None,
    rest_token: str | None = None,
) -> tuple[JiraSite, str]:
    """A new site with a random key and secret; returns the site and the secret, in clear, once.

    REST credentials are optional: an email and an API token (Jira Cloud), or a token alone (a
    Server/Data Center personal access token).
    """
    url = normalised_base_url(base_url)
    if rest_email is not None:
        rest_email = rest_email.strip()
        if len(rest_email) > REST_EMAIL_MAX or "@" not in rest_email or not rest_email.isprintable():
            raise JiraSiteError(f"--email must be an email address of at most {REST_EMAIL_MAX} characters")
        if not rest_token:
            raise JiraSiteError("an email needs its API token (--api-token-env)")
    if rest_token is not None and (not rest_token.strip() or not rest_token.isprintable()):
        raise JiraSiteError("the Jira API token is blank or holds control characters")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    site = JiraSite(
        workspace_id=workspace_id,
        key=_free_key(session),
        base_url=url,
        secret=_encrypted(cipher, secret),
        rest_email=cipher.encrypt(rest_email),
        rest_token=cipher.encrypt(rest_token.strip() if rest_token else None),
    )
    session.add(site)
    session.flush()
    return site, secret


def _free_key(session: Session) -> str:
    while True:
        key = secrets.token_urlsafe(SITE_KEY_BYTES)
        # A key starting with "-" would read as an option in `sprintwins jira rotate <key>`.
        if (
            key[0].isalnum()
            and session.scalars(select(JiraSite.id).where(JiraSite.key == key)).first() is None
        ):
            return key


def _encrypted(cipher: SecretCipher, value: str) -> str:
    stored = cipher.encrypt(value)
    assert stored is not None  # a value in, a ciphertext out
    return stored


def get_site(session: Session, key: str) -> JiraSite:
    found = session.scalars(select(JiraSite).where(JiraSite.key == key)).first() if is_site_key(key) else None
    if found is None:
        raise JiraSiteError("no Jira site with that key (see `sprintwins jira list`)")
    return found


def list_sites(session: Session, workspace_id: int | None = None) -> list[tuple[JiraSite, str]]:
    """Each site with its workspace's slug, by workspace then creation; one workspace's if given."""
    query = (
        select(JiraSite, Workspace.slug)
        .join(Workspace, Workspace.id == JiraSite.workspace_id)
        .order_by(Workspace.slug, JiraSite.id)
    )
    if workspace_id is not None:
        query = query.where(JiraSite.workspace_id == workspace_id)
    return [(site, slug) for site, slug in session.execute(query)]


class SiteSummary(TypedDict):
    """What ``jira list`` shows of a site: never a secret or a credential, only whether there is one."""

    key: str
    workspace: str
    base_url: str
    webhook_path: str
    rest_credentials: str | None  # "cloud" (email + API token), "server" (personal access token)
    previous_secret_valid_until: str | None
    created_at: str


def site_summary(site: JiraSite, workspace_slug: str, now: datetime | None = None) -> SiteSummary:
    grace_end = site.previous_valid_until
    in_grace = site.previous_secret is not None and grace_end is not None and grace_end > (now or utcnow())
    return {
        "key": site.key,
        "workspace": workspace_slug,
        "base_url": site.base_url,
        "webhook_path": webhook_path(site.key),
        "rest_credentials": None if not site.rest_token else "cloud" if site.rest_email else "server",
        "previous_secret_valid_until": grace_end.isoformat(timespec="seconds")
        if in_grace and grace_end
        else None,
        "created_at": site.created_at.isoformat(timespec="seconds"),
    }


def webhook_path(key: str) -> str:
    return f"/webhooks/jira/{key}"


def rotate_secret(
    session: Session, key: str, cipher: SecretCipher, grace: timedelta, now: datetime | None = None
) -> tuple[JiraSite, str]:
    """A fresh secret for the site; the one it replaces is still accepted for ``grace``.

    A second rotation within the grace replaces the previous secret: only the last two are ever valid.
    """
    if grace < timedelta(0) or grace > ROTATION_GRACE_MAX:
        raise JiraSiteError(f"the grace period must be between 0 and {ROTATION_GRACE_MAX.days} days")
    site = get_site(session, key)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    if grace > timedelta(0):
        site.previous_secret, site.previous_valid_until = site.secret, (now or utcnow()) + grace
    else:
        site.previous_secret, site.previous_valid_until = None, None
    site.secret = _encrypted(cipher, secret)
    session.flush()
    return site, secret


def remove_site(session: Session, key: str) -> JiraSite:
    site = get_site(session, key)
    session.delete(site)
    session.flush()
    return site


# -- what the webhook and the REST reads need ----------------------------------------------------------


@dataclass(frozen=True)
class SiteSecrets:
    """A site's workspace and its secrets in clear, as the webhook edge verifies deliveries with them."""

    workspace_id: int
    current: str = field(repr=False)
    previous: str | None = field(default=None, repr=False)
    previous_valid_until: datetime | None = None

    def accepted(self, now: datetime) -> tuple[str, ...]:
        """The secrets a delivery may be signed with at ``now``: the previous one only until its end."""
        if self.previous and self.previous_valid_until is not None and now < self.previous_valid_until:
            return (self.current, self.previous)
        return (self.current,)


def site_secrets(session: Session, key: str, cipher: SecretCipher | None) -> SiteSecrets | None:
    """The site's secrets, or None when no site has that key."""
    if not is_site_key(key):
        return None
    row = session.execute(
        select(
            JiraSite.workspace_id, JiraSite.secret, JiraSite.previous_secret, JiraSite.previous_valid_until
        ).where(JiraSite.key == key)
    ).first()
    if row is None:
        return None
    if cipher is None:
        raise SecretsUnreadable("Jira site secrets need SPRINTWINS_TOKEN_ENCRYPTION_KEY in this process")
    current = cipher.decrypt(row.secret)
    if not current:  # never verify against nothing: an unreadable secret must not accept unsigned bodies
        raise SecretsUnreadable("a Jira site secret cannot be decrypted with SPRINTWINS_TOKEN_ENCRYPTION_KEY")
    previous = cipher.decrypt(row.previous_secret) if row.previous_secret else None
    return SiteSecrets(row.workspace_id, current, previous, row.previous_valid_until)


@dataclass(frozen=True)
class RestCredentials:
    """How to read a site back through REST: an email with an API token (Cloud), or a token alone."""

    base_url: str
    email: str | None
    token: str = field(repr=False)


def rest_credentials(
    session: Session, workspace_id: int, cipher: SecretCipher | None
) -> RestCredentials | None:
    """The REST credentials of the workspace's first site that has some (the oldest), or None.

    Raises ``SecretsUnreadable`` rather than answer None when credentials exist but cannot be read:
    reading a workspace's sprints without them would silently infer what Jira could have said.
    """
    site = session.scalars(
        select(JiraSite)
        .where(JiraSite.workspace_id == workspace_id, JiraSite.rest_token.is_not(None))
        .order_by(JiraSite.id)
        .limit(1)
    ).first()
    if site is None:
        return None
    if cipher is None:
        raise SecretsUnreadable("Jira site credentials need SPRINTWINS_TOKEN_ENCRYPTION_KEY in this process")
    token = cipher.decrypt(site.rest_token)
    email = cipher.decrypt(site.rest_email) if site.rest_email else None
    if not token or (site.rest_email and not email):
        raise SecretsUnreadable(
            "Jira site credentials cannot be decrypted with SPRINTWINS_TOKEN_ENCRYPTION_KEY"
        )
    return RestCredentials(site.base_url, email, token)
