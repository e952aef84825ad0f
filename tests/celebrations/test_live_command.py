"""``/sprintwins live``: the setting parsed, and mistakes answered with the choices."""

from __future__ import annotations

import pytest

from service.domain.commands import CommandError, LiveCommand, LiveMode, live_confirmation, parse_sprintwins


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("live off", LiveMode.OFF),
        ("live Milestones", LiveMode.MILESTONES),
        ("  LIVE   all ", LiveMode.ALL),
    ],
)
def test_live_settings_are_read_whatever_the_case(text: str, mode: LiveMode) -> None:
    assert parse_sprintwins(text) == LiveCommand(mode=mode)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("live", "Choose one: `/sprintwins live off`"),
        ("live loud", "`loud` is not a live setting"),
        ("live <!channel>", "`@channel` is not a live setting"),  # read as people saw it, never a ping
        ("liev all", "Did you mean `live`?"),
    ],
)
def test_mistakes_name_the_choices(text: str, says: str) -> None:
    with pytest.raises(CommandError) as raised:
        parse_sprintwins(text)
    assert says in raised.value.mrkdwn
    assert "<!" not in raised.value.mrkdwn


def test_each_setting_is_confirmed_in_its_own_words() -> None:
    assert "off for this channel" in live_confirmation(LiveMode.OFF)
    assert "milestones, sprint starts and kudos" in live_confirmation(LiveMode.MILESTONES)
    assert "every ticket" in live_confirmation(LiveMode.ALL)
