"""A ticket's done spell: the same events in any order say when (and by whom) the work was finished."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import permutations

import pytest

from service.domain.tickets import DoneSpell

# (timestamp_ms, complete, credited person)
HISTORIES = {
    "done once": [(1_000, True, 1)],
    "done, edited while done": [(1_000, True, 1), (5_000, True, 2)],
    "done, reopened, done again": [(1_000, True, 1), (3_000, False, None), (5_000, True, 2)],
    "created, done, edited": [(500, False, None), (1_000, True, 1), (9_000, True, 2)],
    "done, reopened": [(1_000, True, 1), (3_000, False, None)],
    "reopened twice between": [
        (1_000, True, 1),
        (2_000, False, None),
        (3_000, True, 3),
        (4_000, False, None),
        (6_000, True, 2),
        (7_000, True, 1),
    ],
}
EXPECTED = {
    "done once": (1_000, 1),
    "done, edited while done": (1_000, 1),
    "done, reopened, done again": (5_000, 2),
    "created, done, edited": (1_000, 1),
    "done, reopened": None,
    "reopened twice between": (6_000, 2),
}


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_every_order_of_the_same_events_begins_the_spell_alike(name: str) -> None:
    expected = EXPECTED[name]
    for order in permutations(HISTORIES[name]):
        spell = DoneSpell()
        for ms, complete, who in order:
            spell = spell.seen(ms, complete, who)
        began = spell.began
        if expected is None:
            assert began is None, order
        else:
            assert began == (datetime.fromtimestamp(expected[0] / 1000, tz=UTC), expected[1]), order
        assert DoneSpell.from_json(spell.to_json()) == spell  # as a ticket stores it


def test_the_same_event_twice_changes_nothing() -> None:
    once = DoneSpell().seen(1_000, True, 1)
    assert once.seen(1_000, True, 1) == once


def test_a_stored_spell_that_is_not_one_reads_as_empty() -> None:
    assert DoneSpell.from_json(None) == DoneSpell() and DoneSpell.from_json([1, 2]) == DoneSpell()
