"""``Slot``: one typed value found in a user's message, and ``Found``: the slots of one message so far."""
from __future__ import annotations

import re

from pydantic import BaseModel

# Words that make what follows a cue a question or a story, not a value (公司名称是什么, 地址变更).
NOT_A_VALUE = re.compile(r"什么|怎么|哪|多少|吗|呢|咋|啥|能不能|可以|变更|异常|联系不上")


class Slot(BaseModel):
    type: str  # name | id_number | phone | date | address | company | org | title | uscc | money | int | relation | subject
    value: str  # normalised where the type allows (dates as YYYY-MM-DD, phones as digits)
    raw: str  # the text as written
    start: int
    end: int
    context: str = ""  # a few characters before the slot
    role: str | None = None  # whose value it is: applicant, mother, child, legal_rep, … (corpus/roles.yaml)


Span = tuple[int, int]


class Found:
    """Slots of one message as they are found; ``taken`` spans keep a later reader off an earlier value."""

    def __init__(self, text: str):
        self.text = text  # as written: slots keep its characters as ``raw``
        self.slots: list[Slot] = []
        self.taken: list[Span] = []

    def add(self, type_: str, value: str, start: int, end: int, role: str | None = None) -> None:
        self.note(type_, value, start, end, start, role)
        self.taken.append((start, end))

    def note(self, type_: str, value: str, start: int, end: int, context_at: int, role: str | None = None,
             raw: str | None = None) -> None:
        """A slot that takes no span from the others (a relation or the subject of the application)."""
        raw = self.text[start:end] if raw is None else raw
        self.slots.append(Slot(type=type_, value=value, raw=raw, start=start, end=end,
                               context=self.text[max(0, context_at - 8):context_at], role=role))

    def overlaps(self, span: Span) -> bool:
        return overlaps(span, self.taken)


def overlaps(span: Span, taken: list[Span]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in taken)
