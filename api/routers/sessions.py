"""A session's transcript, the agent's state and the form drafts."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import select

from api.db import MessageRow, SessionRow
from api.deps import get_runtime, rate_limited
from api.errors import ApiError
from api.records import last_reply, session_drafts
from api.runtime import Runtime
from api.schemas import Message, SessionView

router = APIRouter(prefix="/v1", tags=["sessions"], dependencies=[Depends(rate_limited)])


def session_view(rt: Runtime, session_id: str) -> SessionView:
    with rt.db() as s:
        row = s.get(SessionRow, session_id)
        if row is None:
            raise ApiError(404, "session_not_found", "找不到该会话")
        messages = [Message(role=m.role, text=rt.vault.decrypt(m.text_enc), reply_id=m.reply_id, created_at=m.created_at)
                    for m in s.scalars(select(MessageRow).where(MessageRow.session_id == session_id)
                                       .order_by(MessageRow.id)).all()]
        channel, region = row.channel, row.region
    last = last_reply(rt, session_id)
    return SessionView(session_id=session_id, channel=channel, region=region, messages=messages,
                       state=rt.session_store.load_raw(session_id), forms=session_drafts(rt, session_id),
                       last_reply=last[1] if last else None)


@router.get("/sessions/{session_id}", response_model=SessionView, summary="Transcript and state of a session")
def get_session(session_id: str, rt: Runtime = Depends(get_runtime)):
    return session_view(rt, session_id)
