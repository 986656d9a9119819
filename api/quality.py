"""好差评 and tickets (工单): the vocabulary of ``data/service_quality.yaml``, the ticket lifecycle, ticket numbers
and the working-day calendar of the response-time limit."""
from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from corpus.datafile import load_data_file
from corpus.loader import SourceInfo

DATA_PATH = Path(__file__).parent / "data" / "service_quality.yaml"
CHINA = dt.timezone(dt.timedelta(hours=8))  # working days are Beijing's


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RatingLevel(_Strict):
    id: str
    label: str
    score: int = Field(ge=1, le=5)
    bad: bool = False


class RatingReason(_Strict):
    id: str
    label: str
    for_: Literal["good", "bad", "any"] = Field(alias="for")


class TicketState(_Strict):
    id: str
    label: str
    next: list[str] = Field(default_factory=list)
    first_response: bool = False


class QualityVocabulary(_Strict):
    rating_levels: list[RatingLevel] = Field(min_length=1)
    rating_targets: dict[str, str] = Field(min_length=1)
    rating_reasons: list[RatingReason] = Field(min_length=1)
    ticket_kinds: dict[str, str] = Field(min_length=1)
    ticket_channels: dict[str, str] = Field(min_length=1)
    ticket_states: list[TicketState] = Field(min_length=2)

    @property
    def first_state(self) -> TicketState:
        return self.ticket_states[0]

    def level(self, level_id: str) -> RatingLevel | None:
        return next((lv for lv in self.rating_levels if lv.id == level_id), None)

    def state(self, state_id: str) -> TicketState | None:
        return next((s for s in self.ticket_states if s.id == state_id), None)

    def reason_label(self, reason_id: str) -> str:
        return next((r.label for r in self.rating_reasons if r.id == reason_id), reason_id)

    def reasons_for(self, level: RatingLevel) -> set[str]:
        wanted = "bad" if level.bad else "good"
        return {r.id for r in self.rating_reasons if r.for_ in (wanted, "any")}


def _check(vocab: QualityVocabulary, info: SourceInfo) -> list[str]:
    problems = []
    states = [s.id for s in vocab.ticket_states]
    for i, state in enumerate(vocab.ticket_states):
        for j, nxt in enumerate(state.next):
            if nxt not in states:
                problems.append(f"{info.file}:{info.line_of(('ticket_states', i, 'next', j))}: "
                                f"ticket_states.{i}.next: unknown state {nxt!r}")
    for key, items in (("rating_levels", vocab.rating_levels), ("rating_reasons", vocab.rating_reasons),
                       ("ticket_states", vocab.ticket_states)):
        ids = [x.id for x in items]
        for i, x in enumerate(ids):
            if x in ids[:i]:
                problems.append(f"{info.file}:{info.line_of((key, i))}: {key}.{i}: duplicate id {x!r}")
    if not any(lv.bad for lv in vocab.rating_levels):
        problems.append(f"{info.file}:{info.line_of(('rating_levels',))}: rating_levels: no level is marked bad")
    return problems


@functools.lru_cache(maxsize=1)
def vocabulary() -> QualityVocabulary:
    return load_data_file(DATA_PATH, QualityVocabulary, check=_check)


# -- ticket numbers ---------------------------------------------------------------------------------------------

# No 0/O, 1/I/L: read out over the phone without confusion. 10 characters = 50 random bits, so nobody reaches
# another's ticket by trying numbers (and the contact check is rate-limited besides).
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TICKET_NO = re.compile(r"GD\d{8}-?[" + _ALPHABET + r"]{10}")


def new_ticket_no(now: dt.datetime) -> str:
    day = now.replace(tzinfo=dt.timezone.utc).astimezone(CHINA).strftime("%Y%m%d")
    return f"GD{day}-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


def normalize_ticket_no(text: str) -> str:
    """``gd20261203 7k4m…`` as typed or spoken -> ``GD20261203-7K4M…``; anything else upper-cased as is."""
    compact = re.sub(r"[\s-]", "", text or "").upper()
    m = re.fullmatch(r"GD(\d{8})([" + _ALPHABET + r"]{10})", compact)
    return f"GD{m.group(1)}-{m.group(2)}" if m else compact


def normalize_contact(contact: str) -> str:
    """A phone as digits only (spaces, dashes and +86 dropped), so the check matches however it is typed."""
    digits = re.sub(r"\D", "", contact or "")
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


# -- working days -----------------------------------------------------------------------------------------------

def is_workday(day: dt.date) -> bool:
    """China's official working days (holidays and the weekend days worked in their place) from the kept
    ``chinesecalendar`` package; a year it has no data for yet counts Monday to Friday."""
    try:
        import chinese_calendar

        return chinese_calendar.is_workday(day)
    except (ImportError, NotImplementedError):
        return day.weekday() < 5


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """``start`` (naive UTC) plus ``days`` working days: the same clock time on the ``days``-th working day after
    it, Beijing time; returned as naive UTC."""
    local = start.replace(tzinfo=dt.timezone.utc).astimezone(CHINA)
    day, left = local.date(), days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_workday(day):
            left -= 1
    due = dt.datetime.combine(day, local.timetz())
    return due.astimezone(dt.timezone.utc).replace(tzinfo=None)
