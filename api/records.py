"""Recording a turn (messages, reply metrics) and reading back what a session holds."""
from __future__ import annotations

import json

from sqlalchemy import select

from agent.privacy import mask
from agent.reply import FormState, Reply
from api import metrics
from api.db import MessageRow, ReplyRow, SessionRow, new_id, utcnow
from api.runtime import Runtime

LOW_CONFIDENCE = 0.5  # a routed reply below this score is worth a look by content staff
_NOT_FALLBACK_INTENTS = {"chitchat", "query_status", "human", "complaint"}


def is_fallback(reply: Reply) -> bool:
    """The assistant found no document to answer from (and did not just ask a 情形 question)."""
    if reply.intent.name == "out_of_scope":
        return True
    return reply.route is None and reply.clarify is None and reply.intent.name not in _NOT_FALLBACK_INTENTS


def is_low_confidence(reply: Reply) -> bool:
    return (reply.route is not None and reply.route.score < LOW_CONFIDENCE) or reply.intent.confidence < LOW_CONFIDENCE


def record_turn(rt: Runtime, question: str, reply: Reply, channel: str, region: str | None) -> str:
    reply_id = new_id()
    vault = rt.vault
    with rt.session_locks(reply.session_id), rt.db.begin() as s:
        session = s.get(SessionRow, reply.session_id)
        if session is None:
            s.add(SessionRow(id=reply.session_id, channel=channel, region=region))
        else:
            session.updated_at = utcnow()
            if session.channel is None:
                session.channel = channel
            if region and not session.region:
                session.region = region
        s.add(ReplyRow(
            id=reply_id, session_id=reply.session_id, channel=channel,
            question_masked=mask(question), intent=reply.intent.name, intent_confidence=reply.intent.confidence,
            route_kind=reply.route.kind if reply.route else None, route_id=reply.route.id if reply.route else None,
            route_title=reply.route.title if reply.route else None,
            route_score=reply.route.score if reply.route else None,
            cited_ids=" ".join(dict.fromkeys(c.doc_id for c in reply.citations)),
            # which-service questions only: the admin's clarify rate measures ambiguous routing, not 情形
            clarify=reply.clarify is not None and reply.clarify.kind == "route", handoff=reply.handoff,
            fallback=is_fallback(reply), low_confidence=is_low_confidence(reply),
            latency_ms=reply.latency_ms, reply_enc=vault.encrypt(reply.model_dump_json())))
        s.add(MessageRow(session_id=reply.session_id, role="user", text_masked=mask(question),
                         text_enc=vault.encrypt(question), reply_id=reply_id))
        s.add(MessageRow(session_id=reply.session_id, role="assistant", text_masked=mask(reply.answer),
                         text_enc=vault.encrypt(reply.answer), reply_id=reply_id))
    metrics.observe_turn(reply, no_match=is_fallback(reply))
    return reply_id


def session_drafts(rt: Runtime, session_id: str) -> list[FormState]:
    """The session's form draft: it lives in the session state (the assistant's ``drafts`` edit it)."""
    state = rt.session_store.load(session_id)
    return [state.form] if state is not None and state.form is not None else []


def last_reply(rt: Runtime, session_id: str) -> tuple[str, Reply] | None:
    with rt.db() as s:
        msg = s.scalars(select(MessageRow).where(MessageRow.session_id == session_id,
                                                 MessageRow.reply_id.is_not(None))
                        .order_by(MessageRow.id.desc())).first()
        row = s.get(ReplyRow, msg.reply_id) if msg else None
        if row is None or not row.reply_enc:  # none yet, or erased with its expired session
            return None
        return row.id, Reply.model_validate_json(rt.vault.decrypt(row.reply_enc))


def departments_json(departments: list[str]) -> str:
    return json.dumps(departments, ensure_ascii=False)
