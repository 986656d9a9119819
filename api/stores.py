"""The agent's storage protocols over the API database: sessions survive restarts, receipts are looked up."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from agent.session import SessionState
from agent.status import ApplicationStatus
from api.crypto import Vault
from api.db import SessionRow, SubmissionRow, as_utc, utcnow


class SQLSessionStore:
    """``agent.session.SessionStore`` backed by the sessions table (state encrypted: it holds slots)."""

    def __init__(self, db: sessionmaker, vault: Vault):
        self.db = db
        self.vault = vault

    def load(self, session_id: str):
        with self.db() as s:
            row = s.get(SessionRow, session_id)
            if row is None or not row.state_enc:
                return None
            return SessionState.model_validate_json(self.vault.decrypt(row.state_enc))

    def load_raw(self, session_id: str) -> dict | None:
        with self.db() as s:
            row = s.get(SessionRow, session_id)
            if row is None or not row.state_enc:
                return None
            return json.loads(self.vault.decrypt(row.state_enc))

    def save(self, state: Any) -> None:
        session_id = getattr(state, "session_id", None) or getattr(state, "id")
        payload = self.vault.encrypt(state.model_dump_json())
        with self.db.begin() as s:
            row = s.get(SessionRow, session_id)
            if row is None:
                s.add(SessionRow(id=session_id, state_enc=payload, region=getattr(state, "region", None)))
            else:
                row.state_enc = payload
                row.updated_at = utcnow()


def application_status(row: SubmissionRow) -> dict:
    return {
        "receipt_no": row.receipt_no,
        "status": row.status,
        "submitted_at": as_utc(row.submitted_at),
        "scenario_title": row.scenario_title,
        "departments": json.loads(row.departments),
        "promised_days": row.promised_days,
        **_review_summary(row.review),
    }


def submission_review(row: SubmissionRow) -> dict:
    """What the consoles show of a submission: progress and pre-review, no value of the application."""
    return {"receipt_no": row.receipt_no, "submitted_at": as_utc(row.submitted_at),
            "scenario_title": row.scenario_title, "form_id": row.form_id, "departments": json.loads(row.departments),
            "status": row.status, "review_status": row.review_status,
            "review": json.loads(row.review) if row.review else None}


def _review_summary(review: str | None) -> dict:
    if not review:
        return {}
    kept = json.loads(review)
    return {"review_status": kept["status"],
            "corrections": [i["label"] for i in kept["items"] if i.get("severity") == "fix"]}


class SQLStatusLookup:
    """``agent.status.StatusLookup`` over the submissions table (and the tickets table, through ``tickets``)."""

    def __init__(self, db: sessionmaker, tickets=None):
        self.db = db
        self.tickets = tickets  # api.quality_store.SQLTicketStatus: 工单查询 in the same chat question

    def lookup(self, receipt_no: str, session_id: str | None = None, contact: str | None = None):
        if self.tickets is not None:
            found = self.tickets.lookup(receipt_no, session_id=session_id, contact=contact)
            if found is not None:
                return found
        receipt_no = (receipt_no or "").strip().upper()
        with self.db() as s:
            row = s.scalars(select(SubmissionRow).where(SubmissionRow.receipt_no == receipt_no)).first()
            if row is None:
                return None
            return ApplicationStatus(**application_status(row))
