"""How deeply a JSON text nests, found without parsing it.

Python's ``json`` module parses recursively: a document nested a few thousand levels deep raises
``RecursionError`` from deep inside the parser, and on CPython 3.11 a recursion error caught that
way can leave the interpreter's own recursion bookkeeping off, so a later, unrelated ``compile``
fails. Refusing such a text before any parser sees it keeps the process healthy.
"""

from __future__ import annotations

import re

# A JSON string, escapes included; what it holds is not structure.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nests_deeper_than(text: str | bytes, limit: int) -> bool:
    """Whether ``text`` opens more than ``limit`` arrays or objects inside each other.

    An unterminated string counts its brackets too: such a text is no valid JSON anyway.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
