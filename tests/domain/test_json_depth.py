"""Nesting is measured without a parser, strings ignored."""

import json

import pytest

from service.domain.json_depth import nests_deeper_than


@pytest.mark.parametrize(
    ("text", "limit", "deeper"),
    [
        ("{}", 1, False),
        ("{}", 0, True),
        ('{"a": [1, {"b": []}]}', 4, False),
        ('{"a": [1, {"b": []}]}', 3, True),
        ('{"a": "[[[[[[[[[["}', 1, False),  # brackets inside a string are text
        ('{"a": "\\"[[[[["}', 1, False),  # so are they after an escaped quote
        (b'[[["x"]]]', 3, False),
        (b'[[["x"]]]', 2, True),
        ("[" * 100_000, 32, True),
        ('"[[[[', 3, True),  # an unterminated string is no JSON: its brackets count
    ],
)
def test_nesting_depth(text: str | bytes, limit: int, deeper: bool) -> None:
    assert nests_deeper_than(text, limit) is deeper


def test_agrees_with_the_parser_on_a_parsed_document() -> None:
    document = json.dumps({"a": [{"b": [{"c": ["[{"]}]}]})
    assert not nests_deeper_than(document, 6)
    assert nests_deeper_than(document, 5)
