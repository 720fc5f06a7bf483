"""Bounded messages: input echoed back to the user is cut to an excerpt.

A police export can hold a 5 MB field or a binary file's 20,000-character "first line"; an error
message that repeats such input whole is unreadable in a terminal and bloats reports and logs.
Every message that quotes input quotes at most :data:`ECHO_LIMIT` characters of it, and a whole
message stays under :data:`MESSAGE_LIMIT` characters.
"""

from __future__ import annotations

__all__ = ["ECHO_LIMIT", "MESSAGE_LIMIT", "excerpt"]

#: Characters of input quoted in a message before it is cut with "…".
ECHO_LIMIT = 200
#: Upper bound on the length of one error message, in characters.
MESSAGE_LIMIT = 2000


def excerpt(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, with "…" when something was cut.

    >>> excerpt("abc", 5), excerpt("abcdefgh", 5)
    ('abc', 'abcde…')
    """
    return text if len(text) <= limit else text[:limit] + "…"
