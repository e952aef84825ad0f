"""Sign in with Slack (OpenID Connect): the authorize URL, the code exchange and the id token's checks.

Slack signs each id token (RS256) with a key it publishes in a JWKS. PyJWT checks the signature, our
client id as the audience, Slack as the issuer and the expiry; the nonce must be the one this browser
was sent off with, so a token minted for another app, another sign-in or another browser is refused.
Nothing here is stored: the caller decides which workspace a Slack team signs in to.
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator

from integrations.slack.installation import web_client
from service.settings import Settings

log = logging.getLogger(__name__)

SLACK_ISSUER = "https://slack.com"
SCOPES = ("openid", "email", "profile")
TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"
ENTERPRISE_CLAIM = "https://slack.com/enterprise_id"
# Slack's clock and ours may disagree by a few seconds; an id token is used within a second of issue.
CLOCK_SKEW = timedelta(seconds=30)
# Slack ids (T…, U…, W…, E…): upper-case letters and digits, never long.
_SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")


class SignInRefused(Exception):
    """The identity could not be established; the message is for the log, not for the person."""


class SlackUnreachable(Exception):
    """Slack (its token endpoint or its keys) could not be asked; trying again later may work."""


@dataclass(frozen=True, slots=True)
class SlackIdentity:
    """Who signed in, as Slack vouched for it in the id token."""

    team_id: str
    user_id: str
    enterprise_id: str | None


def signin_configured(settings: Settings) -> bool:
    """Sign-in needs the Slack app's client id and secret (the redirect goes to the public URL)."""
    return bool(settings.slack_client_id and settings.slack_client_secret)


def multi_workspace(settings: Settings) -> bool:
    """Each Slack team signs in to a workspace of its own, unless one bot token makes this server
    single-workspace: then only that bot's Slack team may sign in, to the implicit workspace."""
    return signin_configured(settings) and not settings.slack_bot_token


def authorize_url(settings: Settings, *, redirect_uri: str, state: str, nonce: str) -> str:
    """Slack's consent page, which sends the browser back to ``redirect_uri`` with a code."""
    assert settings.slack_client_id
    generator = OpenIDConnectAuthorizeUrlGenerator(
        client_id=settings.slack_client_id, redirect_uri=redirect_uri, scopes=list(SCOPES)
    )
    return generator.generate(state=state, nonce=nonce)


def signing_keys(settings: Settings) -> jwt.PyJWKClient:
    """Slack's published keys, fetched when first needed and kept for five minutes (PyJWT's cache)."""
    return jwt.PyJWKClient(settings.slack_oidc_jwks_url, cache_jwk_set=True, lifespan=300, timeout=10)


def exchange_code(settings: Settings, *, code: str, redirect_uri: str) -> str:
    """The id token Slack gives for the code (``openid.connect.token``)."""
    assert settings.slack_client_id and settings.slack_client_secret
    try:
        response = web_client(settings).openid_connect_token(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            code=code,
            redirect_uri=redirect_uri,
        )
    except SlackApiError as error:
        reason, status = error.response.get("error"), error.response.status_code
        if status >= 500 or status == 429:  # Slack's trouble, not the code's: worth another try
            raise SlackUnreachable(f"openid.connect.token failed ({status}): {reason}") from None
        # invalid_code, code_already_used, bad_redirect_uri, bad_client_secret, ...
        raise SignInRefused(f"openid.connect.token refused the code: {reason}") from None
    except (SlackClientError, OSError) as error:
        raise SlackUnreachable(f"openid.connect.token unreachable: {type(error).__name__}") from None
    id_token = response.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise SignInRefused("openid.connect.token answered without an id token")
    return id_token


def verify_id_token(id_token: str, *, keys: jwt.PyJWKClient, client_id: str, nonce: str) -> SlackIdentity:
    """The identity in a Slack id token, once every check has passed; else SignInRefused."""
    try:
        signing_key = keys.get_signing_key_from_jwt(id_token)
    except jwt.PyJWKClientConnectionError as error:
        raise SlackUnreachable(f"Slack's signing keys are unreachable: {error}") from None
    except jwt.PyJWTError as error:
        raise SignInRefused(f"no Slack key signs this id token: {error}") from None
    try:
        claims: dict[str, Any] = jwt.decode(
            id_token,
            signing_key.key,
            algorithms=["RS256"],
            audience=client_id,
            issuer=SLACK_ISSUER,
            leeway=CLOCK_SKEW,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise SignInRefused(f"the id token failed its checks: {type(error).__name__}: {error}") from None
    claimed_nonce = claims.get("nonce")
    if not isinstance(claimed_nonce, str) or not hmac.compare_digest(claimed_nonce.encode(), nonce.encode()):
        raise SignInRefused("the id token's nonce is not this browser's sign-in")
    team_id = _slack_id(claims.get(TEAM_CLAIM), TEAM_CLAIM)
    user_id = _slack_id(claims.get(USER_CLAIM, claims.get("sub")), USER_CLAIM)
    enterprise = claims.get(ENTERPRISE_CLAIM)
    enterprise_id = _slack_id(enterprise, ENTERPRISE_CLAIM) if enterprise else None
    return SlackIdentity(team_id=team_id, user_id=user_id, enterprise_id=enterprise_id)


def bot_team(settings: Settings) -> str:
    """The Slack team of the single-workspace bot token (``auth.test``): the one team that signs in."""
    assert settings.slack_bot_token
    try:
        team_id = web_client(settings, settings.slack_bot_token).auth_test().get("team_id")
    except SlackApiError as error:
        raise SlackUnreachable(f"auth.test failed: {error.response.get('error')}") from None
    except (SlackClientError, OSError) as error:
        raise SlackUnreachable(f"auth.test unreachable: {type(error).__name__}") from None
    if not isinstance(team_id, str) or not team_id:
        raise SlackUnreachable("auth.test answered without a team")
    return team_id


def _slack_id(value: object, claim: str) -> str:
    if not isinstance(value, str) or not _SLACK_ID.match(value):
        raise SignInRefused(f"the id token's {claim} is missing or malformed")
    return value
