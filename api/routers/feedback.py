"""Thumbs up/down and 问题已解决/未解决 on a reply."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from agent.privacy import mask
from api import metrics
from api.db import FeedbackRow, ReplyRow
from api.deps import get_runtime, rate_limited, require_database
from api.errors import ApiError
from api.records import last_reply
from api.runtime import Runtime
from api.routers.sessions import SESSION_ERRORS
from api.schemas import FeedbackAck, FeedbackRequest
from api.session_access import check_session

router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=[Depends(rate_limited), Depends(require_database)])


@router.post("/feedback", response_model=FeedbackAck, responses=SESSION_ERRORS,
             summary="Rate a reply (defaults to the session's last one); needs the session's X-Session-Token")
def feedback(body: FeedbackRequest, request: Request, rt: Runtime = Depends(get_runtime)):
    check_session(rt, request, body.session_id)
    if body.thumbs is None and body.resolved is None and not body.comment:
        raise ApiError(422, "empty_feedback", "请至少选择赞/踩、是否已解决或填写意见")
    reply_id = body.reply_id
    if reply_id is None:
        last = last_reply(rt, body.session_id)
        if last is None:
            raise ApiError(404, "reply_not_found", "该会话还没有可评价的回答")
        reply_id = last[0]
    with rt.db.begin() as s:
        reply = s.get(ReplyRow, reply_id)
        if reply is None or reply.session_id != body.session_id:
            raise ApiError(404, "reply_not_found", "找不到要评价的回答")
        row = FeedbackRow(reply_id=reply_id, session_id=body.session_id, thumbs=body.thumbs, resolved=body.resolved,
                          comment_masked=mask(body.comment) if body.comment else None)
        s.add(row)
        s.flush()
        ack = FeedbackAck(id=row.id, reply_id=reply_id)
    metrics.observe_feedback(body.thumbs, body.resolved)  # once stored
    return ack
