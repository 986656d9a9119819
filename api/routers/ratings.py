"""好差评: the national five levels for an answer, a submission or a hotline call; a 不满意 or 非常不满意 needs a
reason and opens a 整改 ticket. Staff see the figures per service and department, with a trend."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from agent.privacy import mask
from api.db import RatingRow, ReplyRow, SubmissionRow, utcnow
from api.deps import get_runtime, rate_limited, require_database, require_role
from api.errors import ApiError
from api.quality import RatingLevel, vocabulary
from api.quality_store import doc_service, open_ticket
from api.records import last_reply
from api.routers.sessions import SESSION_ERRORS
from api.runtime import Runtime
from api.schemas import HotlineRatingRequest, QualityOptions, RatingAck, RatingFigures, RatingRequest
from api.session_access import check_session

router = APIRouter(prefix="/v1", tags=["ratings"], dependencies=[Depends(rate_limited), Depends(require_database)])
hotline = APIRouter(prefix="/v1/hotline", tags=["ratings"],
                    dependencies=[Depends(require_role("hotline", "staff")), Depends(require_database)])
staff = APIRouter(prefix="/v1/admin", tags=["ratings"],
                  dependencies=[Depends(require_role("staff")), Depends(require_database)])

RATING_ERRORS = {**SESSION_ERRORS, 422: {"description": "unknown level or reason, or a 差评 without a reason"}}


@router.get("/ratings/options", response_model=QualityOptions, summary="The five levels, the standard reasons, "
            "ticket kinds and states")
def options():
    v = vocabulary()
    return {"levels": [lv.model_dump() for lv in v.rating_levels],
            "reasons": [{"id": r.id, "label": r.label, "for": r.for_} for r in v.rating_reasons],
            "targets": [{"id": k, "label": t} for k, t in v.rating_targets.items()],
            "ticket_kinds": [{"id": k, "label": t} for k, t in v.ticket_kinds.items()],
            "ticket_states": [{"id": st.id, "label": st.label} for st in v.ticket_states]}


def _checked(level_id: str, reasons: list[str]) -> RatingLevel:
    v = vocabulary()
    level = v.level(level_id)
    if level is None:
        raise ApiError(422, "unknown_level", "评价等级不正确，应为：" + "、".join(
            f"{lv.id}（{lv.label}）" for lv in v.rating_levels))
    allowed = v.reasons_for(level)
    wrong = [r for r in reasons if r not in allowed]
    if wrong:
        raise ApiError(422, "unknown_reason", f"「{level.label}」不能选择这些原因：{'、'.join(wrong)}",
                       allowed=sorted(allowed))
    if level.bad and not reasons:
        raise ApiError(422, "reason_needed", f"评价为「{level.label}」时请至少选择一项原因", allowed=sorted(allowed))
    return level


def _store(rt: Runtime, *, target: str, level: RatingLevel, reasons: list[str], comment: str | None, channel: str,
           session_id: str | None, service, reply_id: str | None = None, receipt_no: str | None = None) -> RatingAck:
    """The rating and, for a 差评, its 整改 ticket, in one transaction."""
    v = vocabulary()
    comment_masked = mask(comment) if comment else None
    with rt.db.begin() as s:
        ticket_no = None
        if level.bad:
            labels = "、".join(v.reason_label(r) for r in reasons)
            text = f"{v.rating_targets[target]}评价「{level.label}」：{labels}" + (f"。{comment_masked}" if comment else "")
            ticket_no = open_ticket(rt, s, kind="bad_rating", channel=channel, description=text, actor="citizen",
                                    session_id=session_id, service=service).ticket_no
        row = RatingRow(target=target, level=level.id, score=level.score, reasons=" ".join(dict.fromkeys(reasons)),
                        comment_masked=comment_masked, channel=channel, session_id=session_id, reply_id=reply_id,
                        receipt_no=receipt_no, service_id=service[0], service_title=service[1],
                        department=service[2], ticket_no=ticket_no)
        s.add(row)
        s.flush()
        return RatingAck(id=row.id, level=level.id, level_label=level.label, service_title=service[1],
                         ticket_no=ticket_no)


def _reply_service(rt: Runtime, reply: ReplyRow | None):
    if reply is None or not reply.route_id:
        return None, None, None
    service = doc_service(rt.corpus().get(reply.route_id))
    return service if service[0] else (reply.route_id, reply.route_title, None)


@router.post("/ratings", response_model=RatingAck, status_code=201, responses=RATING_ERRORS,
             summary="好差评 of an answer or a submission; needs the session's X-Session-Token")
def rate(body: RatingRequest, request: Request, rt: Runtime = Depends(get_runtime)):
    check_session(rt, request, body.session_id)
    level = _checked(body.level, body.reasons)
    with rt.db() as s:
        channel = "web"
        if body.target == "submission":
            sub = s.get(SubmissionRow, (body.receipt_no or "").strip().upper()) if body.receipt_no else None
            if sub is None or sub.session_id != body.session_id:
                raise ApiError(404, "submission_not_found", "找不到要评价的申请（请提供本会话的受理编号 receipt_no）")
            department = (json.loads(sub.departments) or [None])[0]
            service, reply_id, receipt_no = (sub.scenario_id, sub.scenario_title, department), None, sub.receipt_no
        else:
            reply_id = body.reply_id
            if reply_id is None:
                last = last_reply(rt, body.session_id)
                reply_id = last[0] if last else None
            reply = s.get(ReplyRow, reply_id) if reply_id else None
            if reply is None or reply.session_id != body.session_id:
                raise ApiError(404, "reply_not_found", "找不到要评价的回答")
            service, receipt_no, channel = _reply_service(rt, reply), None, reply.channel
    return _store(rt, target=body.target, level=level, reasons=body.reasons, comment=body.comment, channel=channel,
                  session_id=body.session_id, service=service, reply_id=reply_id, receipt_no=receipt_no)


@hotline.post("/ratings", response_model=RatingAck, status_code=201, responses=RATING_ERRORS,
              summary="The caller's 好差评 of a 12345 call, entered by the agent")
def rate_call(body: HotlineRatingRequest, rt: Runtime = Depends(get_runtime)):
    level = _checked(body.level, body.reasons)
    with rt.db() as s:
        reply = s.scalars(select(ReplyRow).where(ReplyRow.session_id == body.session_id)
                          .order_by(ReplyRow.created_at.desc())).first()
    if reply is None:
        raise ApiError(404, "session_not_found", "找不到该来电的会话")
    return _store(rt, target="hotline_call", level=level, reasons=body.reasons, comment=body.comment,
                  channel="hotline", session_id=body.session_id, service=_reply_service(rt, reply),
                  reply_id=reply.id)


def _group(key: str, title: str, department: str | None, rows: list[RatingRow], day_list: list[str]) -> dict:
    labels = {lv.id: lv.label for lv in vocabulary().rating_levels}
    bad = {lv.id for lv in vocabulary().rating_levels if lv.bad}
    days = Counter(r.created_at.date().isoformat() for r in rows)
    return {"key": key, "title": title, "department": department, "count": len(rows),
            "mean_score": round(sum(r.score for r in rows) / len(rows), 2),
            "satisfied_rate": round(sum(r.level not in bad for r in rows) / len(rows), 3),
            "bad": sum(r.level in bad for r in rows),
            "levels": {labels.get(k, k): c for k, c in Counter(r.level for r in rows).most_common()},
            "trend": [{"day": d, "count": days.get(d, 0)} for d in day_list]}


@staff.get("/ratings", response_model=RatingFigures, summary="好差评 figures per service and department, with a trend")
def rating_figures(days: int = Query(30, ge=1, le=366), rt: Runtime = Depends(get_runtime)):
    today = utcnow().date()
    day_list = [(today - dt.timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)]
    with rt.db() as s:
        rows = list(s.scalars(select(RatingRow).where(RatingRow.created_at >= utcnow() - dt.timedelta(days=days))
                              .order_by(RatingRow.created_at.desc()).limit(50000)))
    v = vocabulary()
    by_service, by_department = defaultdict(list), defaultdict(list)
    for r in rows:
        by_service[r.service_id or ""].append(r)
        by_department[r.department or ""].append(r)
    per_day = defaultdict(list)
    for r in rows:
        per_day[r.created_at.date().isoformat()].append(r.score)
    bad = {lv.id for lv in v.rating_levels if lv.bad}
    reasons = Counter(x for r in rows if r.level in bad for x in r.reasons.split())
    level_counts = Counter(r.level for r in rows)
    return {
        "days": day_list, "total": len(rows),
        "mean_score": round(sum(r.score for r in rows) / len(rows), 2) if rows else None,
        "satisfied_rate": round(sum(r.level not in bad for r in rows) / len(rows), 3) if rows else None,
        "levels": [{"level": lv.id, "label": lv.label, "count": level_counts.get(lv.id, 0)} for lv in v.rating_levels],
        "trend": [{"day": d, "count": len(per_day.get(d, []))} for d in day_list],
        "by_service": sorted((_group(k, g[0].service_title or "（未关联事项）", g[0].department, g, day_list)
                              for k, g in by_service.items()), key=lambda x: (-x["bad"], -x["count"])),
        "by_department": sorted((_group(k, k or "（未关联部门）", k or None, g, day_list)
                                 for k, g in by_department.items()), key=lambda x: (-x["bad"], -x["count"])),
        "bad_reasons": [{"reason": v.reason_label(k), "count": c} for k, c in reasons.most_common()],
    }
