"""Citizen chat: one reply as JSON, or Server-Sent Events: a draft (the composed answer), tokens, then the whole Reply."""
from __future__ import annotations

import json
import logging
import time
from typing import Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from agent.privacy import mask
from agent.reply import Reply
from api.deps import get_runtime, rate_limited, require_database
from api.errors import ApiError
from api.records import record_turn
from api.runtime import Runtime
from api.schemas import ChatRequest, sse_event
from api.session_access import TOKEN_HEADER, chat_session

router = APIRouter(prefix="/v1", tags=["chat"], dependencies=[Depends(rate_limited), Depends(require_database)])
log = logging.getLogger("daoban.api")
LOAD_WAIT_S = 120.0
CHUNK = 12  # characters per token event when the answer was not generated token by token


def assistant_or_503(rt: Runtime):
    rt.wait_loaded(LOAD_WAIT_S)
    if rt.assistant is None:
        detail = f"（{rt.load_error}）" if rt.load_error else ""
        raise ApiError(503, "not_ready", f"智能导办助手尚未就绪，请稍后再试或拨打 12345{detail}")
    return rt.assistant


def _call_args(req: ChatRequest, session_id: str) -> dict:
    return {"session_id": session_id, "channel": req.channel, "region": req.region or None}


def _session(req: ChatRequest, request: Request, rt: Runtime) -> tuple[str, dict]:
    """The turn's session and the headers that hand a new session's secret to the client (once)."""
    session_id, token = chat_session(rt, request, req.session_id, req.channel, req.region or None)
    return session_id, ({TOKEN_HEADER: token} if token else {})


@router.post("/chat", response_model=Reply, summary="Ask the assistant; the agent's Reply comes back unchanged",
             responses={200: {"headers": {
                 "X-Reply-Id": {"description": "id to send feedback on this reply"},
                 "X-Session-Token": {"description": "the new session's secret, sent once when the turn starts a "
                                                    "session: send it back in this header on every later call"}}},
                 403: {"description": "a live session_id without its X-Session-Token"}})
def chat(req: ChatRequest, request: Request, rt: Runtime = Depends(get_runtime)):
    assistant = assistant_or_503(rt)
    session_id, headers = _session(req, request, rt)
    t0 = time.perf_counter()
    reply: Reply = assistant.handle(req.message, **_call_args(req, session_id))
    if not reply.latency_ms:
        reply.latency_ms = int((time.perf_counter() - t0) * 1000)
    reply_id = record_turn(rt, req.message, reply, req.channel, req.region)
    log.info("chat intent=%s route=%s %d ms: %s", reply.intent.name,
             reply.route.id if reply.route else "-", reply.latency_ms, mask(req.message))
    return JSONResponse(reply.model_dump(mode="json"), headers={"X-Reply-Id": reply_id, **headers})


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post("/chat/stream", summary="Same as /v1/chat as Server-Sent Events",
             description="Events: `draft` `{type, reply: Reply}` with the composed, cited answer as soon as it is "
                         "ready when an LLM lead will follow; `token` `{type, text}` while the lead (or, without an "
                         "LLM, the answer) is streamed; then one `reply` `{type, reply: Reply, reply_id}`, the answer "
                         "that counts; `error` `{type, code, message}` if it fails midway.",
             response_class=StreamingResponse,
             responses={200: {"description": "Server-Sent Events (`draft`, `token`, `reply`, `error`)",
                              "content": {"text/event-stream": {"schema": sse_event(
                                  {"type": "object", "required": ["type"],
                                   "properties": {"type": {"enum": ["draft", "token", "reply", "error"]}}},
                                  events=["draft", "token", "reply", "error"])}}},
                        403: {"description": "a live session_id without its X-Session-Token"}})
def chat_stream(req: ChatRequest, request: Request, rt: Runtime = Depends(get_runtime)):
    assistant = assistant_or_503(rt)
    session_id, headers = _session(req, request, rt)

    def events() -> Iterator[str]:
        t0 = time.perf_counter()
        streamed = False
        try:
            reply = None
            turn = assistant.stream(req.message, **_call_args(req, session_id))
            for item in turn:
                if item.get("type") == "token":
                    streamed = True
                    yield _sse("token", {"type": "token", "text": item.get("text", "")})
                elif item.get("type") == "draft":
                    streamed = True  # the page shows the draft; the tokens that follow are the lead
                    draft = item["reply"] if isinstance(item["reply"], Reply) else Reply.model_validate(item["reply"])
                    yield _sse("draft", {"type": "draft", "reply": draft.model_dump(mode="json")})
                elif item.get("type") == "reply":
                    reply = item["reply"] if isinstance(item["reply"], Reply) else Reply.model_validate(item["reply"])
                    break
            # The turn is over: closing it frees its session lock before the record takes the API's (a form
            # edit takes them the other way round, so no request may hold the turn's while waiting for the API's).
            turn.close()
            if reply is not None:
                if not streamed:
                    # Composed without the LLM: send it as tokens too, so every client renders one way.
                    for i in range(0, len(reply.answer), CHUNK):
                        yield _sse("token", {"type": "token", "text": reply.answer[i:i + CHUNK]})
                if not reply.latency_ms:
                    reply.latency_ms = int((time.perf_counter() - t0) * 1000)
                reply_id = record_turn(rt, req.message, reply, req.channel, req.region)
                yield _sse("reply", {"type": "reply", "reply": reply.model_dump(mode="json"), "reply_id": reply_id})
        except Exception:  # noqa: BLE001 - the status line is sent already: tell the page in-band
            log.exception("stream failed")
            yield _sse("error", {"type": "error", "code": "internal", "message": "生成回答时出错，请重试或拨打 12345"})

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers})
