"""Tickets (工单) for 办不成事 and complaints, from 收到 to 回访: citizens open theirs and follow them (the session's
secret, or the ticket number plus the contact left with it); the hotline opens one from a call with its structured
summary; staff list, filter, assign, move and close them and export CSV for the 12345 system."""
from __future__ import annotations

import csv
import datetime as dt
import io

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from api.db import MessageRow, ReplyRow, TicketRow, as_utc, utcnow
from api.deps import client_address, get_runtime, rate_limited, require_database, require_role
from api.errors import ApiError
from api.quality import normalize_ticket_no, vocabulary
from api.quality_store import (citizen_view, contact_matches, doc_service, events_of, is_overdue, move_ticket,
                               open_ticket, staff_view)
from api.routers.sessions import SESSION_ERRORS
from api.runtime import Runtime
from api.schemas import (HotlineTicketCreate, StaffTicketView, TicketCreate, TicketDraft, TicketLookup, TicketMove,
                         TicketPage, TicketView)
from api.session_access import check_session

router = APIRouter(prefix="/v1", tags=["tickets"], dependencies=[Depends(rate_limited), Depends(require_database)])
hotline = APIRouter(prefix="/v1/hotline", tags=["tickets"],
                    dependencies=[Depends(require_role("hotline", "staff")), Depends(require_database)])
staff = APIRouter(prefix="/v1/admin", tags=["tickets"],
                  dependencies=[Depends(require_role("staff")), Depends(require_database)])

NOT_FOUND = ("ticket_not_found", "没有查到该工单：请核对工单号和联系电话")
CREATE_ERRORS = {**SESSION_ERRORS, 422: {"description": "bad fields, or a contact without consent"}}


def _session_service(rt: Runtime, session_id: str, said: list[str] | None = None):
    """The service the conversation is about: the session's route, else its last routed reply, else the service
    the caller's words name (a complaint is answered without routing: 新生儿出生一件事网上办不了)."""
    state = rt.session_store.load(session_id)
    route_id = state.route.id if state is not None and state.route is not None else None
    if route_id is None:
        with rt.db() as s:
            route_id = s.scalars(select(ReplyRow.route_id).where(ReplyRow.session_id == session_id,
                                                                 ReplyRow.route_id.is_not(None))
                                 .order_by(ReplyRow.created_at.desc())).first()
    if route_id is None and said and rt.assistant is not None:
        router, normalizer = rt.assistant.router, rt.assistant.normalizer
        route_id = next((named[0] for text in said if (named := router.named_docs(normalizer.run(text)))), None)
    return doc_service(rt.corpus().get(route_id)) if route_id else (None, None, None)


def _service(rt: Runtime, service_id: str | None, session_id: str):
    if not service_id:
        return _session_service(rt, session_id)
    doc = rt.corpus().get(service_id)
    if doc is None:
        raise ApiError(422, "unknown_service", f"找不到事项 {service_id}")
    return doc_service(doc)


@router.post("/tickets", response_model=TicketView, status_code=201, responses=CREATE_ERRORS,
             summary="Open a ticket: a complaint or an 办不成事 report (needs the session's X-Session-Token)")
def create_ticket(body: TicketCreate, request: Request, rt: Runtime = Depends(get_runtime)):
    check_session(rt, request, body.session_id)
    service = _service(rt, body.service_id, body.session_id)
    with rt.db.begin() as s:
        channel = s.scalar(select(ReplyRow.channel).where(ReplyRow.session_id == body.session_id).limit(1)) or "web"
        row = open_ticket(rt, s, kind=body.kind, channel=channel, description=body.description, actor="citizen",
                          session_id=body.session_id, service=service, contact=body.contact, consent=body.consent)
        return citizen_view(row, events_of(s, row.ticket_no))


@router.get("/tickets/{ticket_no}", response_model=TicketView, responses=SESSION_ERRORS,
            summary="A ticket's progress, for the session that opened it (its X-Session-Token)")
def get_ticket(ticket_no: str, request: Request, session_id: str = Query(max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$"),
               rt: Runtime = Depends(get_runtime)):
    check_session(rt, request, session_id)
    with rt.db() as s:
        row = s.get(TicketRow, normalize_ticket_no(ticket_no))
        if row is None or row.session_id != session_id:
            raise ApiError(404, *NOT_FOUND)
        return citizen_view(row, events_of(s, row.ticket_no))


@router.post("/tickets/lookup", response_model=TicketView, responses={404: {"description": "no such ticket for "
             "this contact (one answer for a wrong number and a wrong contact)"}},
             summary="A ticket's progress by its number and the contact left with it (tries rate-limited)")
def lookup_ticket(body: TicketLookup, request: Request, rt: Runtime = Depends(get_runtime)):
    ticket_no = normalize_ticket_no(body.ticket_no)
    # Each try counts against the client and against the number, found or not, so that neither numbers nor
    # contacts can be tried at speed.
    for key in (f"client:{client_address(request)}", f"ticket:{ticket_no}"):
        wait = rt.ticket_lookups.check(key)
        if wait is not None:
            raise ApiError(429, "rate_limited", f"查询次数过多，请 {max(1, int(wait))} 秒后再试",
                           headers={"Retry-After": str(max(1, int(wait)))})
    with rt.db() as s:
        row = s.get(TicketRow, ticket_no)
        if row is None or not contact_matches(rt, row, body.contact):
            raise ApiError(404, *NOT_FOUND)
        return citizen_view(row, events_of(s, row.ticket_no))


# -- hotline -------------------------------------------------------------------------------------------------------

_INTENT_KIND = {"complaint": "complaint", "human": "help"}  # what a call's last intent suggests; else 咨询


@hotline.get("/sessions/{session_id}/ticket-draft", response_model=TicketDraft, responses={404: {}},
             summary="A call's structured summary (诉求类型, 事项, 部门, 要点) to check before the ticket is made")
def ticket_draft(session_id: str, rt: Runtime = Depends(get_runtime)):
    with rt.db() as s:
        said = list(s.scalars(select(MessageRow.text_masked).where(MessageRow.session_id == session_id,
                                                                  MessageRow.role == "user")
                              .order_by(MessageRow.id.desc()).limit(5)))
        intent = s.scalars(select(ReplyRow.intent).where(ReplyRow.session_id == session_id)
                           .order_by(ReplyRow.created_at.desc())).first()
    if not said:
        raise ApiError(404, "session_not_found", "找不到该来电的会话")
    kind = _INTENT_KIND.get(intent or "", "consult")
    service = _session_service(rt, session_id, said)
    return {"kind": kind, "kind_label": vocabulary().ticket_kinds[kind], "service_id": service[0],
            "service_title": service[1], "department": service[2], "points": list(reversed(said))}


@hotline.post("/tickets", response_model=StaffTicketView, status_code=201,
              responses={404: {}, 422: {"description": "unknown kind or service, or a contact without consent"}},
              summary="Open a ticket from a call, with its structured summary")
def create_call_ticket(body: HotlineTicketCreate, rt: Runtime = Depends(get_runtime),
                       role: str = Depends(require_role("hotline", "staff"))):
    kinds = vocabulary().ticket_kinds
    if body.kind not in kinds or body.kind == "bad_rating":
        raise ApiError(422, "unknown_kind", "诉求类型不正确，应为：" + "、".join(
            f"{k}（{v}）" for k, v in kinds.items() if k != "bad_rating"))
    with rt.db() as s:
        known = s.scalar(select(func.count()).select_from(MessageRow).where(MessageRow.session_id == body.session_id))
    if not known:
        raise ApiError(404, "session_not_found", "找不到该来电的会话")
    service = _service(rt, body.service_id, body.session_id)
    if body.department:
        service = (service[0], service[1], body.department)
    description = body.description or "；".join(body.points)
    with rt.db.begin() as s:
        row = open_ticket(rt, s, kind=body.kind, channel="hotline", description=description, actor=role,
                          session_id=body.session_id, service=service, points=body.points, contact=body.contact,
                          consent=body.consent)
        return staff_view(rt, row, events_of(s, row.ticket_no))


# -- staff ---------------------------------------------------------------------------------------------------------

def _filtered(status: str | None, kind: str | None, service: str | None, overdue: bool | None):
    q = select(TicketRow)
    if status:
        q = q.where(TicketRow.status == status)
    if kind:
        q = q.where(TicketRow.kind == kind)
    if service:
        q = q.where((TicketRow.service_id == service) | (TicketRow.service_title.contains(service))
                    | (TicketRow.department.contains(service)))
    if overdue is not None:
        late = TicketRow.first_response_at.is_(None) & (TicketRow.due_at < utcnow())
        q = q.where(late if overdue else ~late)
    return q


Filters = dict(status=Query(None, max_length=16), kind=Query(None, max_length=16),
               service=Query(None, max_length=96, description="service id, or words of its title or department"),
               overdue=Query(None, description="true: only tickets past their first-response limit"))


@staff.get("/tickets", response_model=TicketPage, summary="Tickets, newest first, filtered; counts per state")
def list_tickets(status: str | None = Filters["status"], kind: str | None = Filters["kind"],
                 service: str | None = Filters["service"], overdue: bool | None = Filters["overdue"],
                 offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=200),
                 rt: Runtime = Depends(get_runtime)):
    vocab = vocabulary()
    q = _filtered(status, kind, service, overdue)
    with rt.db() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = list(s.scalars(q.order_by(TicketRow.created_at.desc()).offset(offset).limit(limit)))
        items = [staff_view(rt, r, events_of(s, r.ticket_no)) for r in rows]
        counts = dict(s.execute(select(TicketRow.status, func.count()).group_by(TicketRow.status)).all())
        late = s.scalar(select(func.count()).select_from(_filtered(None, None, None, True).subquery()))
    return {"total": total, "overdue": late, "items": items,
            "counts": {st.label: counts.get(st.id, 0) for st in vocab.ticket_states}}


CSV_COLUMNS = ["工单号", "诉求类型", "渠道", "事项", "承办部门", "诉求内容", "要点", "状态", "承办人", "受理时间",
               "首次回复时限", "首次回复时间", "办结时间", "是否超时", "联系电话"]


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text  # no formula runs when opened in a sheet


@staff.get("/tickets/export.csv", response_class=Response, summary="Tickets as CSV for the 12345 system",
           responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                            "description": "UTF-8 with BOM, one ticket a row"}})
def export_tickets(status: str | None = Filters["status"], kind: str | None = Filters["kind"],
                   service: str | None = Filters["service"], overdue: bool | None = Filters["overdue"],
                   contact: bool = Query(False, description="include the consented contact phones"),
                   rt: Runtime = Depends(get_runtime)):
    vocab = vocabulary()
    china = dt.timezone(dt.timedelta(hours=8))
    when = lambda t: as_utc(t).astimezone(china).strftime("%Y-%m-%d %H:%M") if t else ""  # noqa: E731
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    with rt.db() as s:
        rows = s.scalars(_filtered(status, kind, service, overdue).order_by(TicketRow.created_at).limit(100000))
        for r in rows:
            view = staff_view(rt, r, [])
            writer.writerow([_cell(x) for x in (
                r.ticket_no, vocab.ticket_kinds.get(r.kind, r.kind), vocab.ticket_channels.get(r.channel, r.channel),
                r.service_title, r.department, r.description_masked, "；".join(view["points"]), view["status_label"],
                r.assignee, when(r.created_at), when(r.due_at), when(r.first_response_at), when(r.closed_at),
                "是" if is_overdue(r) or view["late"] else "否", view["contact"] if contact else "")])
    name = f"tickets-{utcnow():%Y%m%d-%H%M}.csv"
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@staff.get("/tickets/{ticket_no}", response_model=StaffTicketView, responses={404: {}}, summary="One ticket")
def staff_ticket(ticket_no: str, rt: Runtime = Depends(get_runtime)):
    with rt.db() as s:
        row = s.get(TicketRow, normalize_ticket_no(ticket_no))
        if row is None:
            raise ApiError(404, "ticket_not_found", "找不到该工单")
        return staff_view(rt, row, events_of(s, row.ticket_no))


@staff.post("/tickets/{ticket_no}/transitions", response_model=StaffTicketView,
            responses={404: {}, 409: {"description": "not an allowed next state (the message and `allowed` name "
                                                     "them)"}, 422: {"description": "分派 without an assignee"}},
            summary="Move a ticket on: 分派 (with an assignee), 处理中, 办结, 回访, with a note")
def move(ticket_no: str, body: TicketMove, rt: Runtime = Depends(get_runtime)):
    with rt.db.begin() as s:
        row = s.get(TicketRow, normalize_ticket_no(ticket_no), with_for_update=True)
        if row is None:
            raise ApiError(404, "ticket_not_found", "找不到该工单")
        move_ticket(s, row, body.to, "staff", body.assignee, body.note)
        s.flush()
        return staff_view(rt, row, events_of(s, row.ticket_no))
