"""Ratings and tickets in the database: opening a ticket, moving it through its lifecycle (checked against
``data/service_quality.yaml``), and the views each role may see. Free text is masked before it is stored; a
contact is kept encrypted, and only with consent."""
from __future__ import annotations

import datetime as dt
import hmac
import json
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.privacy import mask
from agent.status import ApplicationStatus
from api.db import TicketEventRow, TicketRow, as_utc, utcnow
from api.errors import ApiError
from api.quality import (TICKET_NO, add_working_days, new_ticket_no, normalize_contact, normalize_ticket_no,
                         vocabulary)

if TYPE_CHECKING:
    from api.runtime import Runtime


def doc_service(doc) -> tuple[str | None, str | None, str | None]:
    """(id, title, department) of a guide, whatever its kind."""
    if doc is None:
        return None, None, None
    department = getattr(doc, "lead_department", None) or getattr(doc, "department", None)
    return doc.id, doc.title, department or None


def due_at(rt: Runtime, created: dt.datetime) -> dt.datetime:
    api = rt.settings.api
    if api.ticket_first_response_seconds is not None:
        return created + dt.timedelta(seconds=api.ticket_first_response_seconds)
    return add_working_days(created, api.ticket_first_response_working_days)


def contact_mac(rt: Runtime, contact: str) -> str:
    return rt.vault.mac("ticket-contact", normalize_contact(contact))


def open_ticket(rt: Runtime, s: Session, *, kind: str, channel: str, description: str, actor: str,
                session_id: str | None = None, service: tuple[str | None, str | None, str | None] = (None, None, None),
                points: list[str] | None = None, contact: str | None = None, consent: bool = False) -> TicketRow:
    """A new ticket in the first state, inside the caller's transaction. ``contact`` without ``consent`` is
    refused rather than dropped silently."""
    if contact and not consent:
        raise ApiError(422, "consent_needed", "留下联系电话需要您同意用于回复本工单（consent: true）；不留电话也可以提交")
    now = utcnow()
    first = vocabulary().first_state
    row = TicketRow(ticket_no=new_ticket_no(now), kind=kind, channel=channel, session_id=session_id,
                    service_id=service[0], service_title=service[1], department=service[2],
                    description_masked=mask(description),
                    points_masked=json.dumps([mask(p) for p in points], ensure_ascii=False) if points else None,
                    consent=bool(contact and consent),
                    contact_enc=rt.vault.encrypt(normalize_contact(contact)) if contact and consent else None,
                    contact_mac=contact_mac(rt, contact) if contact and consent else None,
                    status=first.id, due_at=due_at(rt, now), created_at=now, updated_at=now)
    s.add(row)
    s.flush()  # no relationship orders the inserts: the ticket first, for its history's foreign key
    s.add(TicketEventRow(ticket_no=row.ticket_no, from_state=None, to_state=first.id, actor=actor, created_at=now))
    s.flush()
    return row


def move_ticket(s: Session, row: TicketRow, to: str, actor: str, assignee: str | None, note: str | None) -> None:
    """One step of the lifecycle: 409 naming the allowed next states when ``to`` is not one of them."""
    vocab = vocabulary()
    here = vocab.state(row.status)
    allowed = here.next if here else []
    target = vocab.state(to)
    if target is None or to not in allowed:
        names = "、".join(vocab.state(n).label for n in allowed) or "无（工单已结束）"
        wanted = target.label if target else to
        raise ApiError(409, "ticket_transition", f"工单当前为「{here.label if here else row.status}」，不能转为"
                       f"「{wanted}」；可转为：{names}", allowed=allowed)
    if to == "assigned" and not (assignee or "").strip():
        raise ApiError(422, "assignee_needed", "分派工单需要填写承办人（assignee）")
    now = utcnow()
    assignee = mask(assignee.strip())[:64] if assignee and assignee.strip() else None  # a label, masked like any text
    if assignee:
        row.assignee = assignee
    if target.first_response and row.first_response_at is None:
        row.first_response_at = now
    if not target.next or to == "closed":
        row.closed_at = row.closed_at or now
    row.status = to
    row.updated_at = now
    s.add(TicketEventRow(ticket_no=row.ticket_no, from_state=here.id if here else None, to_state=to, actor=actor,
                         assignee=assignee, note_masked=mask(note) if note else None,
                         created_at=now))


def events_of(s: Session, ticket_no: str) -> list[TicketEventRow]:
    return list(s.scalars(select(TicketEventRow).where(TicketEventRow.ticket_no == ticket_no)
                          .order_by(TicketEventRow.id)))


def is_overdue(row: TicketRow, now: dt.datetime | None = None) -> bool:
    return row.first_response_at is None and (now or utcnow()) > row.due_at


def citizen_view(row: TicketRow, events: list[TicketEventRow]) -> dict:
    vocab = vocabulary()
    label = lambda state_id: (vocab.state(state_id).label if vocab.state(state_id) else state_id)  # noqa: E731
    return {"ticket_no": row.ticket_no, "kind": row.kind, "kind_label": vocab.ticket_kinds.get(row.kind, row.kind),
            "status": row.status, "status_label": label(row.status), "service_title": row.service_title,
            "department": row.department, "created_at": as_utc(row.created_at), "due_at": as_utc(row.due_at),
            "first_response_at": as_utc(row.first_response_at) if row.first_response_at else None,
            "closed_at": as_utc(row.closed_at) if row.closed_at else None, "overdue": is_overdue(row),
            "history": [{"state": e.to_state, "label": label(e.to_state), "at": as_utc(e.created_at)}
                        for e in events]}


def staff_view(rt: Runtime, row: TicketRow, events: list[TicketEventRow]) -> dict:
    vocab = vocabulary()
    here = vocab.state(row.status)
    label = lambda state_id: (vocab.state(state_id).label if vocab.state(state_id) else state_id)  # noqa: E731
    return {**citizen_view(row, events), "channel": row.channel, "description": row.description_masked,
            "points": json.loads(row.points_masked) if row.points_masked else [], "assignee": row.assignee,
            "contact": rt.vault.decrypt(row.contact_enc) if row.contact_enc else None,
            "late": row.first_response_at is not None and row.first_response_at > row.due_at,
            "next_states": [{"id": n, "label": label(n)} for n in (here.next if here else [])],
            "events": [{"from_state": e.from_state, "to_state": e.to_state, "label": label(e.to_state),
                        "actor": e.actor, "assignee": e.assignee, "note": e.note_masked, "at": as_utc(e.created_at)}
                       for e in events]}


def contact_matches(rt: Runtime, row: TicketRow, contact: str) -> bool:
    return row.contact_mac is not None and hmac.compare_digest(row.contact_mac, contact_mac(rt, contact))


class SQLTicketStatus:
    """The assistant's 工单查询 over the tickets table: the status only for the session that opened the ticket, or
    when the message carries the contact left with it (tries per ticket number limited)."""

    def __init__(self, rt: Runtime, limiter):
        self.rt, self.limiter = rt, limiter

    def lookup(self, number: str, session_id: str | None = None, contact: str | None = None) -> ApplicationStatus | None:
        ticket_no = normalize_ticket_no(number)
        if not TICKET_NO.fullmatch(ticket_no):
            return None
        with self.rt.db() as s:
            row = s.get(TicketRow, ticket_no)
            if row is None:
                return None
            if not (session_id and row.session_id == session_id):
                if not contact or self.limiter.check(f"ticket:{ticket_no}") is not None or not contact_matches(self.rt, row, contact):
                    return None
            view = citizen_view(row, events_of(s, ticket_no))
        vocab = vocabulary()
        status = view["status_label"] + ("（首次回复已超时，已提醒承办部门）" if view["overdue"] else "")
        return ApplicationStatus(receipt_no=ticket_no, number_label="工单号", status=status,
                                 submitted_at=view["created_at"].astimezone(dt.timezone(dt.timedelta(hours=8))),
                                 scenario_title=f"{vocab.ticket_kinds.get(row.kind, row.kind)}"
                                                + (f"·{row.service_title}" if row.service_title else ""),
                                 departments=[row.department] if row.department else [])
