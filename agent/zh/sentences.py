"""Sentence and clause boundaries in Chinese text."""
from __future__ import annotations

import re

SENTENCE_END = re.compile(r"[。！？；;!?\n]")
CLAUSE_BREAK = re.compile(r"[，,。；;！!？?\n]")


def sentence_start(text: str, pos: int) -> int:
    """Where the sentence holding ``pos`` starts."""
    start = 0
    for m in SENTENCE_END.finditer(text, 0, pos):
        start = m.end()
    return start
