"""Who calls the Slack stand-in: tokens, OAuth installs, uninstalling and people, through the real SDK."""

from __future__ import annotations

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.standins.slack_api import SlackStandIn
from tests.standins.slack_clients import BOT_TOKEN, client_for


@pytest.mark.parametrize(
    ("token", "expected_error"),
    [
        (None, "not_authed"),
        ("not-a-slack-token", "invalid_auth"),
        ("xoxb-revoked", "token_revoked"),
    ],
)
def test_token_is_verified(slack_standin: SlackStandIn, token: str | None, expected_error: str) -> None:
    slack_standin.revoked_tokens.add("xoxb-revoked")

    with pytest.raises(SlackApiError) as raised:
        client_for(slack_standin, token=token).auth_test()

    assert raised.value.response["error"] == expected_error


def test_configured_valid_tokens_reject_other_bot_tokens(slack_standin: SlackStandIn) -> None:
    slack_standin.valid_tokens = {BOT_TOKEN}

    assert client_for(slack_standin).auth_test()["ok"] is True
    with pytest.raises(SlackApiError) as raised:
        client_for(slack_standin, token="xoxb-someone-else").auth_test()
    assert raised.value.response["error"] == "invalid_auth"


def test_auth_test_reports_the_bot_identity_and_bolt_app_constructs_against_it(
    slack_standin: SlackStandIn,
) -> None:
    app = App(client=client_for(slack_standin), signing_secret="secret")

    assert app.client.auth_test()["bot_id"] == slack_standin.workspace.bot_id
    # Bolt verified the token over the network when it was constructed.
    assert len(slack_standin.calls_to("auth.test")) == 2


def test_oauth_v2_access_exchanges_a_registered_code_once(slack_standin: SlackStandIn) -> None:
    slack_standin.add_oauth_code("code-1", team_id="T0ACME", team_name="Acme", user_id="U0ADMIN")
    installer = WebClient(base_url=slack_standin.url + "/api/", timeout=5)

    response = installer.oauth_v2_access(
        client_id=slack_standin.client_id, client_secret=slack_standin.client_secret, code="code-1"
    )

    assert response["access_token"].startswith("xoxb-")
    assert response["token_type"] == "bot"
    assert response["team"] == {"id": "T0ACME", "name": "Acme"}
    assert response["enterprise"] is None
    assert response["is_enterprise_install"] is False
    assert response["authed_user"]["id"] == "U0ADMIN"
    assert response["bot_user_id"] and response["app_id"] and response["scope"]
    identity = client_for(slack_standin, token=response["access_token"]).auth_test()
    assert (identity["team_id"], identity["user_id"]) == ("T0ACME", response["bot_user_id"])
    with pytest.raises(SlackApiError) as reused:
        installer.oauth_v2_access(
            client_id=slack_standin.client_id, client_secret=slack_standin.client_secret, code="code-1"
        )
    assert reused.value.response["error"] == "code_already_used"


@pytest.mark.parametrize(
    ("code", "secret", "expected_error"),
    [
        ("unknown-code", "standin-client-secret", "invalid_code"),
        ("code-1", "wrong-secret", "bad_client_secret"),
    ],
)
def test_oauth_v2_access_errors(
    slack_standin: SlackStandIn, code: str, secret: str, expected_error: str
) -> None:
    slack_standin.add_oauth_code("code-1", team_id="T0ACME", team_name="Acme", user_id="U0ADMIN")
    installer = WebClient(base_url=slack_standin.url + "/api/", timeout=5)

    with pytest.raises(SlackApiError) as raised:
        installer.oauth_v2_access(client_id=slack_standin.client_id, client_secret=secret, code=code)

    assert raised.value.response["error"] == expected_error


def test_user_scope_install_issues_a_user_token(slack_standin: SlackStandIn) -> None:
    slack_standin.add_oauth_code(
        "code-2", team_id="T0ACME", team_name="Acme", user_id="U0ADMIN", user_scope="users:read"
    )
    response = WebClient(base_url=slack_standin.url + "/api/", timeout=5).oauth_v2_access(
        client_id=slack_standin.client_id, client_secret=slack_standin.client_secret, code="code-2"
    )

    authed_user = response["authed_user"]
    assert authed_user["token_type"] == "user"
    assert authed_user["access_token"].startswith("xoxp-")
    assert client_for(slack_standin, token=authed_user["access_token"]).auth_test()["user_id"] == "U0ADMIN"


def test_apps_uninstall_revokes_the_workspace_tokens(slack_standin: SlackStandIn) -> None:
    slack_standin.add_oauth_code("code-3", team_id="T0ACME", team_name="Acme", user_id="U0ADMIN")
    token = WebClient(base_url=slack_standin.url + "/api/", timeout=5).oauth_v2_access(
        client_id=slack_standin.client_id, client_secret=slack_standin.client_secret, code="code-3"
    )["access_token"]
    client = client_for(slack_standin, token=token)

    client.apps_uninstall(client_id=slack_standin.client_id, client_secret=slack_standin.client_secret)

    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response["error"] == "token_revoked"


def test_users_lookup_by_email_and_users_info_timezone(slack_standin: SlackStandIn) -> None:
    slack_standin.add_user("U0ADA", email="ada@example.com", tz="Europe/Berlin", name="ada")
    client = client_for(slack_standin)

    found = client.users_lookupByEmail(email="ada@example.com")["user"]
    info = client.users_info(user="U0ADA")["user"]

    assert found["id"] == "U0ADA"
    assert found["profile"]["email"] == "ada@example.com"
    assert info["tz"] == "Europe/Berlin"
    assert info["tz_offset"] in (3600, 7200)
    with pytest.raises(SlackApiError) as missing:
        client.users_lookupByEmail(email="nobody@example.com")
    assert missing.value.response["error"] == "users_not_found"
    with pytest.raises(SlackApiError) as unknown:
        client.users_info(user="U0NOBODY")
    assert unknown.value.response["error"] == "user_not_found"
