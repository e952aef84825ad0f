"""Text that is safe to print on a terminal.

User text (ticket titles, names, Slack messages) reaches ``sprintwins`` output; a terminal obeys
the escape sequences in it (``ESC[2J`` clears the screen, ``ESC]0;...BEL`` sets the window title)
and bidi overrides make a line read other than it is, even when the output is piped into a pager.
"""

from __future__ import annotations

import re

# Whole escape sequences first (CSI, OSC/DCS/APC/PM/SOS strings up to their terminator), so no
# stray "[2J" is left behind; then every other C0/C1 control except newline and tab, DEL, and the
# bidi embeddings, overrides and isolates.
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|[\x1b][\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` without terminal controls: what remains prints exactly as it reads."""
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))
