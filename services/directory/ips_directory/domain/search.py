"""Search terms and pages, as the repository's full-text queries want them. Pure."""

from __future__ import annotations

import re

WORD = re.compile(r"\w+", re.UNICODE)
MOST_TERMS = 8
LARGEST_PAGE = 100


def terms(text: str | None) -> tuple[str, ...]:
    """The words of a search text, lower case, at most `MOST_TERMS`: each is matched as a
    prefix, all must match. Punctuation and operators are dropped, so no text can change
    the query's meaning."""
    if not text:
        return ()
    return tuple(word.casefold() for word in WORD.findall(text))[:MOST_TERMS]


def sqlite_match(words: tuple[str, ...]) -> str:
    """An FTS5 MATCH expression: every word as a quoted prefix."""
    return " ".join(f'"{word}"*' for word in words)


def postgresql_tsquery(words: tuple[str, ...]) -> str:
    """A `to_tsquery('simple', ...)` text: every word as a prefix, all required."""
    return " & ".join(f"{word}:*" for word in words)
