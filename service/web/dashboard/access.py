"""Who may open the dashboard, until sign-in exists: one function, so sign-in replaces one place."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Request

from service.settings import Settings


def may_view(settings: Settings, request: Request) -> bool:
    """The API token as a Bearer token opens the pages anywhere; outside production, so does a request
    from this machine (the demo opens straight onto the dashboard). Everything else needs sign-in."""
    token = settings.api_token
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and given and hmac.compare_digest(given.encode(), token.encode()):
        return True
    if settings.production:
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
