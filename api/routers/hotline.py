"""12345 hotline console: the assistant's answer plus a card of facts the agent reads out or transfers with."""
from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field
from sqlalchemy import select

from agent.reply import Reply
from api.db import SubmissionRow
from api.deps import get_runtime, require_database, require_role
from api.errors import ApiError
from api.records import record_turn
from api.routers.chat import assistant_or_503
from api.routers.sessions import session_view
from api.runtime import Runtime
from api.schemas import AssistView, KeyCheck, SessionView, SubmissionReview, Wire
from api.session_access import chat_session
from api.stores import submission_review

router = APIRouter(prefix="/v1/hotline", tags=["hotline"],
                   dependencies=[Depends(require_role("hotline", "staff")), Depends(require_database)])


class AssistRequest(Wire):
    session_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    message: str = Field(min_length=1, max_length=2000, description="what the caller said")
    region: str | None = Field(default=None, max_length=64)


def _limit_text(tl) -> str:
    return "，".join(tl.parts(promised="承诺{}", legal="法定{}")) or (tl.note or "以受理部门告知为准")


def _material(m, when_note: str | None = None) -> dict:
    return {"name": m.name, "form": m.form, "count": m.count, "exempt": m.exempt, "exempt_reason": m.exempt_reason,
            "notes": m.notes, "conditional": when_note}


def fact_card(doc, corpus) -> dict | None:
    """What the agent needs on screen for the routed document; generic over kinds, never per scenario."""
    if doc is None:
        return None
    card: dict = {"doc_id": doc.id, "kind": doc.kind, "title": doc.title, "region": doc.region,
                  "guide_url": f"/guide/{doc.id}"}
    if doc.kind == "scenario":
        titles = {(q.id, o.id): o.title for q in doc.questions for o in q.options}
        def when_text(cond):
            if not cond:
                return None
            return "；".join("或".join(titles.get((qid, oid), oid) for oid in oids) for qid, oids in cond.items())
        members = []
        for m in doc.members:
            member = corpus.get(m.matter)
            members.append({"id": m.matter, "title": member.title if member else m.matter, "note": m.note,
                            "conditional": when_text(m.when)})
        card.update(
            summary=doc.summary, departments=list(dict.fromkeys([doc.lead_department, *doc.departments])),
            transfer={"department": doc.lead_department, "phone": doc.phone},
            materials=[_material(m, when_text(m.when)) for m in doc.materials],
            members=members, time_limit=_limit_text(doc.time_limit), time_note=doc.time_limit.note, fee=doc.fee,
            questions=[{"text": q.text, "options": [o.title for o in q.options]} for q in doc.questions],
            online=[f"{o.name}{'：' + o.path if o.path else ''}" for o in doc.online],
            places=[f"{p.name}（{p.address}）" for p in doc.places])
        exempt = sum(m.exempt for m in doc.materials)
        card["key_points"] = [p for p in [
            f"一件事，{len(doc.members)}个事项一次申请、一套材料，牵头部门：{doc.lead_department}",
            *(f"条件：{c}" for c in doc.conditions[:2]),
            f"共{len(doc.materials)}项材料，其中{exempt}项免提交" if doc.materials else None,
            f"时限：{card['time_limit']}；收费：{doc.fee}",
            f"网上办：{card['online'][0]}" if card["online"] else None,
        ] if p]
    elif doc.kind == "matter":
        materials = []
        for sit in doc.situations:
            materials += [_material(m, sit.title if len(doc.situations) > 1 else None) for m in sit.materials]
        phones = [p.phone for p in doc.places if p.phone]
        card.update(
            summary=f"{doc.matter_type}，实施部门：{doc.department}", departments=[doc.department],
            transfer={"department": doc.department, "phone": phones[0] if phones else doc.phone},
            materials=materials, time_limit=_limit_text(doc.time_limit), time_note=doc.time_limit.note, fee=doc.fee,
            situations=[s.title for s in doc.situations],
            online=[f"{o.name}{'：' + o.path if o.path else ''}" for o in doc.online],
            places=[f"{p.name}（{p.address}）" for p in doc.places])
        card["key_points"] = [p for p in [
            f"实施部门：{doc.department}",
            f"分{len(doc.situations)}种情形：" + "、".join(s.title for s in doc.situations) if len(doc.situations) > 1 else None,
            f"时限：{card['time_limit']}；收费：{doc.fee}",
            f"网上办：{card['online'][0]}" if card["online"] else None,
        ] if p]
    elif doc.kind == "faq":
        card.update(summary=doc.answer, departments=[doc.department] if doc.department else [],
                    transfer={"department": doc.department or "12345", "phone": "12345"}, materials=[],
                    key_points=[doc.answer])
    else:  # catalogue matter: name, department and link only
        card.update(summary=f"实施部门：{doc.department}", departments=[doc.department],
                    transfer={"department": doc.department, "phone": "12345"}, materials=[],
                    key_points=[f"实施部门：{doc.department}", "详细材料以官方办事指南为准"], link=doc.link)
    return card


@router.get("/ping", response_model=KeyCheck, summary="Check the API key")
def ping(role: str = Depends(require_role("hotline", "staff"))):
    return KeyCheck(ok=True, role=role)


@router.post("/assist", response_model=AssistView, summary="Suggested answer, fact card and transcript for what the caller said")
def assist(body: AssistRequest, request: Request, rt: Runtime = Depends(get_runtime)):
    assistant = assistant_or_503(rt)
    # The call's session is the server's: an unknown id starts a new one, as for citizens.
    session_id, _ = chat_session(rt, request, body.session_id, "hotline", body.region)
    t0 = time.perf_counter()
    reply: Reply = assistant.handle(body.message, session_id=session_id, channel="hotline", region=body.region)
    if not reply.latency_ms:
        reply.latency_ms = int((time.perf_counter() - t0) * 1000)
    reply_id = record_turn(rt, body.message, reply, "hotline", body.region)
    corpus = assistant.corpus  # the card describes what this assistant routed to, from the same corpus
    doc = corpus.get(reply.route.id) if reply.route else None
    if doc is None and reply.citations:
        doc = corpus.get(reply.citations[0].doc_id)
    transcript = session_view(rt, reply.session_id)
    return AssistView(reply=reply, reply_id=reply_id, card=fact_card(doc, corpus), transcript=transcript.messages)


@router.get("/sessions/{session_id}", response_model=SessionView, summary="A call's conversation so far")
def hotline_session(session_id: str, rt: Runtime = Depends(get_runtime)):
    return session_view(rt, session_id)


@router.get("/submissions/{receipt_no}", response_model=SubmissionReview,
            responses={404: {"description": "`{code: receipt_not_found}`"}},
            summary="A caller's submission by its receipt number: progress and pre-review (通过 / 需补正 with each "
                    "补正 item), never the application's values")
def hotline_submission(receipt_no: str = Path(max_length=32, pattern=r"^[A-Za-z0-9]+$"),
                       rt: Runtime = Depends(get_runtime)):
    with rt.db() as s:
        row = s.scalars(select(SubmissionRow).where(SubmissionRow.receipt_no == receipt_no.upper())).first()
        if row is None:
            raise ApiError(404, "receipt_not_found", f"找不到受理编号 {receipt_no} 的办件")
        return submission_review(row)
