"""Regular expressions built from word lists."""
from __future__ import annotations

import re
from typing import Iterable


def alternation(words: Iterable[str]) -> str:
    """``a|b|c`` of escaped words, in the order given (the order a regex tries them)."""
    return "|".join(map(re.escape, words))


def longest_first(words: Iterable[str]) -> list[str]:
    """Longer words before shorter ones, so an alternation matches 身份证号码 before 身份证."""
    return sorted(words, key=len, reverse=True)


def checked_pattern(pattern: str) -> str:
    """``pattern`` if it compiles; a ValueError naming it otherwise (a data file's validator: a broken pattern stops
    the start with its file and line)."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"bad pattern {pattern!r}: {exc}") from exc
    return pattern
