"""Recording a turn (messages, reply metrics) and keeping the session's form drafts."""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from agent.reply import FormState, Reply
from api.crypto import mask
from api.db import FormDraftRow, MessageRow, ReplyRow, SessionRow, new_id, utcnow
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
        if reply.form is not None:
            _merge_draft(rt, s, reply.session_id, reply.form)
    return reply_id


def _merge_draft(rt: Runtime, s, session_id: str, form: FormState) -> None:
    """The assistant's prefill becomes the draft; values the user typed in the form win over it. A draft
    already submitted is left as it was submitted."""
    row = s.get(FormDraftRow, (session_id, form.form_id))
    if row is not None:
        if row.receipt_no:
            return
        old = FormState.model_validate_json(rt.vault.decrypt(row.state_enc))
        typed = {f.key: f for f in old.fields if f.source == "user"}
        form = form.model_copy(update={"fields": [typed.get(f.key, f) for f in form.fields]})
    upsert_draft(rt, s, session_id, form)


def upsert_draft(rt: Runtime, s, session_id: str, form: FormState, receipt_no: str | None = None) -> None:
    """Insert or replace the draft in one statement: two writers never collide on the primary key."""
    values = {"session_id": session_id, "form_id": form.form_id, "scenario_id": form.scenario_id,
              "state_enc": rt.vault.encrypt(form.model_dump_json()), "updated_at": utcnow()}
    if receipt_no:
        values["receipt_no"] = receipt_no
    dialect = s.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else pg_insert
        stmt = insert(FormDraftRow).values(**values)
        s.execute(stmt.on_conflict_do_update(index_elements=["session_id", "form_id"],
                                             set_={k: stmt.excluded[k] for k in values
                                                   if k not in ("session_id", "form_id")}))
    else:  # pragma: no cover - other databases: plain merge under the session lock
        s.merge(FormDraftRow(**values))


def load_draft_row(rt: Runtime, session_id: str, form_id: str) -> tuple[FormState, str | None] | None:
    """The draft and, once submitted, its receipt number."""
    with rt.db() as s:
        row = s.get(FormDraftRow, (session_id, form_id))
        if row is None:
            return None
        return FormState.model_validate_json(rt.vault.decrypt(row.state_enc)), row.receipt_no


def load_draft(rt: Runtime, session_id: str, form_id: str) -> FormState | None:
    found = load_draft_row(rt, session_id, form_id)
    return found[0] if found else None


def save_draft(rt: Runtime, session_id: str, form: FormState, receipt_no: str | None = None) -> None:
    with rt.db.begin() as s:
        upsert_draft(rt, s, session_id, form, receipt_no)


def session_drafts(rt: Runtime, session_id: str) -> list[FormState]:
    with rt.db() as s:
        rows = s.scalars(select(FormDraftRow).where(FormDraftRow.session_id == session_id)).all()
        return [FormState.model_validate_json(rt.vault.decrypt(r.state_enc)) for r in rows]


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
