"""Application status lookup (办件查询) for receipts issued by daoban's own form submissions."""
from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from agent.privacy import ID_NUMBER, MOBILE
from agent.zh.ids import checked_number


class ApplicationStatus(BaseModel):
    receipt_no: str
    status: str = Field(description="e.g. 已受理, 审核中, 已办结, 需补正")
    submitted_at: dt.datetime
    scenario_title: str
    departments: list[str] = Field(default_factory=list)
    promised_days: int | None = None
    number_label: str = Field(default="受理编号", description="what the number is called: 受理编号, 工单号")


@runtime_checkable
class StatusLookup(Protocol):
    def lookup(self, receipt_no: str, session_id: str | None = None,
               contact: str | None = None) -> ApplicationStatus | None:
        """``session_id`` and ``contact`` (a phone said in the same message) let a lookup that guards its records
        (tickets: only their opener's session, or the contact left with them) decide; receipts ignore them."""


class InMemoryStatusLookup:
    """Statuses held in a dict: for the CLI demo, tests and the eval harness."""

    def __init__(self, statuses: list[ApplicationStatus] | None = None):
        self._data: dict[str, ApplicationStatus] = {}
        self._lock = threading.Lock()
        for s in statuses or []:
            self.add(s)

    def add(self, status: ApplicationStatus) -> None:
        with self._lock:
            self._data[normalize_receipt(status.receipt_no)] = status

    def lookup(self, receipt_no: str, session_id: str | None = None,
               contact: str | None = None) -> ApplicationStatus | None:
        with self._lock:
            return self._data.get(normalize_receipt(receipt_no))


def normalize_receipt(receipt_no: str) -> str:
    return re.sub(r"[\s-]", "", receipt_no).upper()


# Receipt numbers: letters and digits (dashes allowed), at least 6 characters, with at least 4 digits.
# ID numbers (18 chars) and mobile numbers are excluded by the caller before lookup.
_RECEIPT = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{0,6}-?\d[\dA-Za-z-]{5,30})(?![A-Za-z0-9])")


def receipt_candidates(text: str) -> list[str]:
    out = []
    for m in _RECEIPT.finditer(text):
        s = m.group(1).strip("-")
        digits = sum(c.isdigit() for c in s)
        if digits < 4:
            continue
        if checked_number(normalize_receipt(s)) or re.fullmatch(MOBILE, s) or re.fullmatch(ID_NUMBER, s):
            continue  # a phone or an ID number (370303-1997-0819-2811 too), never a receipt
        out.append(s)
    return out
