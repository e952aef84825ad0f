"""Slack's side of Sign in with Slack, for the Slack stand-in: consent, ``openid.connect.token``, JWKS.

The provider owns an RSA key (made on first use, so stand-ins that never sign anyone in pay nothing)
and publishes its public half as a JWKS, as ``https://slack.com/openid/connect/keys`` does. A test
plays the person at Slack's consent page with :meth:`SlackOpenID.consent`: it reads the authorize
URL the app redirected to and returns the address Slack would send the browser back to. The code in
it is exchanged once for an id token carrying the URL's nonce, signed as the test asked (a forged
key, other claims), so every check the app makes can be made to fail.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["SlackOpenID", "new_rsa_key"]

ISSUER = "https://slack.com"
KEY_ID = "standin-openid-key"
TOKEN_LIFETIME_S = 300


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class _Consent:
    client_id: str
    redirect_uri: str
    nonce: str | None
    team_id: str
    user_id: str
    claims: dict[str, Any] = field(default_factory=dict)
    sign_with: Any = None
    algorithm: str = "RS256"


class SlackOpenID:
    """Consent, codes and id tokens; the Slack stand-in routes its OpenID traffic here."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: rsa.RSAPrivateKey | None = None
        self._consents: dict[str, _Consent] = {}
        self._used_codes: set[str] = set()

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._key is None:
                self._key = new_rsa_key()
            return self._key

    def jwks(self) -> dict[str, Any]:
        """The published keys (``/openid/connect/keys``)."""
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}

    def consent(
        self,
        authorize_url: str,
        *,
        team_id: str,
        user_id: str,
        claims: dict[str, Any] | None = None,
        sign_with: Any = None,
        algorithm: str = "RS256",
    ) -> str:
        """The person agreed at Slack: the callback address (``redirect_uri?code=…&state=…``).

        ``claims`` replace the id token's (None removes one); ``sign_with`` signs it with another key
        (``algorithm`` with it), as a forger would.
        """
        query = {name: values[-1] for name, values in parse_qs(urlsplit(authorize_url).query).items()}
        assert query.get("response_type") == "code", authorize_url
        assert set(query.get("scope", "").split(",")) >= {"openid"}, authorize_url
        code = f"openid-{secrets.token_hex(8)}"
        with self._lock:
            self._consents[code] = _Consent(
                client_id=query["client_id"],
                redirect_uri=query["redirect_uri"],
                nonce=query.get("nonce"),
                team_id=team_id,
                user_id=user_id,
                claims=dict(claims or {}),
                sign_with=sign_with,
                algorithm=algorithm,
            )
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, params: dict[str, Any], client_id: str) -> dict[str, Any]:
        """``openid.connect.token`` for an app whose credentials the stand-in already checked."""
        code = str(params.get("code", ""))
        with self._lock:
            if code in self._used_codes:
                return {"ok": False, "error": "invalid_code"}
            consent = self._consents.get(code)
            if consent is None or consent.client_id != client_id:
                return {"ok": False, "error": "invalid_code"}
            if params.get("redirect_uri") != consent.redirect_uri:
                return {"ok": False, "error": "bad_redirect_uri"}
            self._used_codes.add(code)
        return {
            "ok": True,
            "access_token": f"xoxp-{consent.team_id}-openid",
            "token_type": "Bearer",
            "id_token": self._id_token(consent),
        }

    def _id_token(self, consent: _Consent) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": consent.user_id,
            "aud": consent.client_id,
            "exp": now + TOKEN_LIFETIME_S,
            "iat": now,
            "auth_time": now,
            "nonce": consent.nonce,
            "https://slack.com/team_id": consent.team_id,
            "https://slack.com/user_id": consent.user_id,
            "https://slack.com/team_name": "Stand-in team",
            "email": f"{consent.user_id.lower()}@example.com",
            "email_verified": True,
            "name": consent.user_id,
        }
        claims.update(consent.claims)
        claims = {name: value for name, value in claims.items() if value is not None}
        key = consent.sign_with if consent.sign_with is not None else self.private_key
        return jwt.encode(claims, key, algorithm=consent.algorithm, headers={"kid": KEY_ID})
