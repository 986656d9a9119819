"""OpenAI-compatible chat completions, so a platform that speaks to OpenAI (Dify, FastGPT, Open WebUI, a WeChat bot,
the openai client, LangChain's ChatOpenAI) speaks to daoban: the answer is daoban's cited reply to the last user
message, its citations as Markdown footnotes.

Sessions: with ``user`` (or ``X-Daoban-User``) the conversation continues in a session owned by the calling key
(api/session_access.integration_session); without it, the request's user messages are replayed into a fresh
session that is erased after the answer, which is how OpenAI clients send a conversation."""
from __future__ import annotations

import json
import logging
import time
from typing import Iterator, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from agent.compose import SECTION_TITLES
from agent.privacy import mask
from agent.reply import Reply
from api.deps import get_runtime, integration_budget, require_bearer, require_database
from api.errors import DEFAULT_MESSAGES, ApiError, register_style
from api.records import record_turn
from api.routers.chat import CHUNK, assistant_or_503
from api.runtime import Runtime
from api.schemas import sse_event
from api.session_access import erase_sessions, integration_session

PATH = "/v1/chat/completions"
log = logging.getLogger("daoban.api")
MAX_MESSAGE_CHARS = 2000  # what /v1/chat accepts in one message


# -- OpenAI's error shape on this path -------------------------------------------------------------------------

_ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error"}


def openai_error(status: int, code: str, message: str) -> tuple[int, dict]:
    # OpenAI answers a malformed request with 400, never 422; a missing or unknown key is "invalid_api_key".
    status = 400 if status == 422 else status
    code = "invalid_api_key" if code in ("unauthorized", "bearer_missing") else code
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


register_style(PATH, openai_error)


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail


ERRORS = {status: {"model": OpenAIError, "description": text}
          for status, (_, text) in DEFAULT_MESSAGES.items() if status not in (405, 422)}
ERRORS[400] = {"model": OpenAIError, "description": "malformed body, or no user message to answer"}
ERRORS[401] = {"model": OpenAIError, "description": "no Authorization: Bearer key, or an unknown key"}
ERRORS[403] = {"model": OpenAIError, "description": "the key's role may not integrate (role integration needed)"}


# -- the request: OpenAI's fields daoban uses; every other field is accepted and ignored ---------------------------

class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = Field(max_length=32)
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):  # text parts only; images and audio are not read
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [
        {"model": "daoban", "messages": [{"role": "user", "content": "孩子出生了要办哪些手续"}], "user": "wx-openid-1"},
        {"model": "daoban", "stream": True, "stream_options": {"include_usage": True},
         "messages": [{"role": "user", "content": "新生儿落户需要什么材料"}]}]})
    model: str = Field(min_length=1, max_length=128, description="accepted as given and echoed back")
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=1, description="one answer per request")
    user: str | None = Field(default=None, max_length=256,
                             description="the platform's end user: the conversation continues in a session of "
                                         "this key and this user (absent: stateless, history replayed)")


# -- the response: OpenAI's chat.completion and chat.completion.chunk ------------------------------------------------

class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: str | None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: Literal["stop", "length", "content_filter"] = "stop"


class Usage(BaseModel):
    prompt_tokens: int = Field(description="counted in characters: daoban has no tokenizer of the caller's model")
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    logprobs: None = None
    finish_reason: Literal["stop", "length", "content_filter"] | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: str | None = None


# -- the answer as Markdown with footnotes ---------------------------------------------------------------------------

def markdown_answer(reply: Reply, base_url: str, link_of=lambda doc_id: None) -> str:
    """The reply's answer, its 情形 options when it asks one, and its citations as footnotes: ``[^1]`` after the
    answer, ``[^1]: 标题 — 部分（链接）`` at the end; the link opens the guide at the cited section."""
    text = reply.answer.strip()
    if reply.clarify and reply.clarify.options:
        options = [o.title for o in reply.clarify.options if o.title not in text]
        if options:
            text += "\n\n" + "\n".join(f"{i}. {title}" for i, title in enumerate(options, 1))
    cited: dict[str, tuple[str, list[str]]] = {}  # one footnote per document, naming its cited sections
    for c in reply.citations:
        title, sections = cited.setdefault(c.doc_id, (c.title, []))
        if c.section not in sections:
            sections.append(c.section)
    if not cited:
        return text
    marks = "".join(f"[^{i}]" for i in range(1, len(cited) + 1))
    notes = []
    for i, (doc_id, (title, sections)) in enumerate(cited.items(), 1):
        labels = list(dict.fromkeys(SECTION_TITLES[s.split(":")[0]] for s in sections
                                    if s.split(":")[0] in SECTION_TITLES))
        anchor = f"#{sections[0]}" if len(sections) == 1 else ""
        link = link_of(doc_id) or f"{base_url.rstrip('/')}/guide/{doc_id}{anchor}"
        notes.append(f"[^{i}]: {title}" + (f" — {'、'.join(labels)}" if labels else "") + f"（{link}）")
    return f"{text}{marks}\n\n" + "\n".join(notes)


# -- the route -------------------------------------------------------------------------------------------------------

router = APIRouter(tags=["integration"], dependencies=[Depends(require_database)])
KEY = require_bearer("integration")


def _turns(body: ChatCompletionRequest, stateful: bool, max_turns: int) -> list[str]:
    """The user messages to send: the last one in a continued session, else the latest ``max_turns``."""
    if body.messages[-1].role != "user" or not body.messages[-1].text.strip():
        raise ApiError(400, "no_user_message", "最后一条消息须为用户的提问（role 为 user，内容不能为空）")
    users = [m.text.strip()[:MAX_MESSAGE_CHARS] for m in body.messages if m.role == "user" and m.text.strip()]
    return users[-1:] if stateful else users[-max_turns:]


def _link_of(rt: Runtime):
    corpus = rt.corpus()
    return lambda doc_id: getattr(corpus.get(doc_id), "link", None)


@router.post(PATH, response_model=ChatCompletion, responses={**ERRORS, 200: {
                 "description": "`chat.completion`, or with `stream: true` Server-Sent Events: `data: "
                                "{chat.completion.chunk}` lines, then `data: [DONE]`",
                 "content": {"text/event-stream": {"schema": sse_event({"anyOf": [
                     {"type": "object", "required": ["id", "object", "created", "model", "choices"],
                      "properties": {"object": {"const": "chat.completion.chunk"}}},
                     {"type": "object", "required": ["error"]}]}, done="[DONE]")}}}},
             summary="OpenAI-compatible chat: daoban's cited answer to the last user message",
             description="`Authorization: Bearer <key>` with role `integration`. `model` is echoed, unknown fields "
                         "are ignored. `user` (or `X-Daoban-User`) continues that user's conversation in a session of "
                         "the calling key; without it the request's user messages (the latest "
                         "`api.integration_max_turns`) are replayed into a fresh session, erased after the answer. "
                         "`X-Daoban-Region` narrows the answer to a region (e.g. 山东省). Errors: `{error: {message, "
                         "type, param, code}}`.")
def chat_completions(body: ChatCompletionRequest, request: Request, rt: Runtime = Depends(get_runtime),
                     key: str = Depends(integration_budget(KEY)),
                     x_daoban_user: str | None = Header(default=None, max_length=256),
                     x_daoban_region: str | None = Header(default=None, max_length=64)):
    user = (body.user or x_daoban_user or "").strip() or None
    region = (x_daoban_region or "").strip() or None
    turns = _turns(body, user is not None, rt.settings.api.integration_max_turns)
    assistant = assistant_or_503(rt)
    completion_id, created = "chatcmpl-", int(time.time())

    def answer() -> tuple[Reply, str, str]:
        session_id, transient = integration_session(rt, key, user, region)
        try:
            for earlier in turns[:-1]:  # the history, replayed so the last question is read in its context
                assistant.handle(earlier, session_id=session_id, channel="web", region=region)
            t0 = time.perf_counter()
            reply = assistant.handle(turns[-1], session_id=session_id, channel="web", region=region)
            if not reply.latency_ms:
                reply.latency_ms = int((time.perf_counter() - t0) * 1000)
            reply_id = record_turn(rt, turns[-1], reply, "integration", region)
        finally:
            if transient:
                erase_sessions(rt, [session_id])
        log.info("chat.completions intent=%s route=%s %d ms: %s", reply.intent.name,
                 reply.route.id if reply.route else "-", reply.latency_ms, mask(turns[-1]))
        return reply, reply_id, markdown_answer(reply, str(request.base_url), _link_of(rt))

    def usage(content: str) -> Usage:
        prompt = sum(len(t) for t in turns)
        return Usage(prompt_tokens=prompt, completion_tokens=len(content), total_tokens=prompt + len(content))

    if not body.stream:
        reply, reply_id, content = answer()
        done = ChatCompletion(id=completion_id + reply_id, created=created, model=body.model,
                              choices=[Choice(message=AssistantMessage(content=content))], usage=usage(content))
        return JSONResponse(done.model_dump(mode="json"), headers={"X-Reply-Id": reply_id})

    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    def events() -> Iterator[str]:
        # Only the verified answer is sent: an LLM lead the verifier may still reject is never streamed out.
        def chunk(cid: str, delta: Delta, finish=None, **extra) -> str:
            c = ChatCompletionChunk(id=cid, created=created, model=body.model,
                                    choices=[ChunkChoice(delta=delta, finish_reason=finish)], **extra)
            return "data: " + c.model_dump_json(exclude_none=False) + "\n\n"
        try:
            reply, reply_id, content = answer()
        except Exception as exc:  # noqa: BLE001 - the status line is sent: report in-band, as OpenAI does
            if not isinstance(exc, ApiError):
                log.exception("chat.completions stream failed")
            _, err = openai_error(getattr(exc, "status", 500), getattr(exc, "code", "internal"),
                                  getattr(exc, "message", "生成回答时出错，请重试或拨打 12345"))
            yield "data: " + json.dumps(err, ensure_ascii=False) + "\n\n"
            yield "data: [DONE]\n\n"
            return
        cid = completion_id + reply_id
        yield chunk(cid, Delta(role="assistant", content=""))
        for i in range(0, len(content), CHUNK):
            yield chunk(cid, Delta(content=content[i:i + CHUNK]))
        yield chunk(cid, Delta(), "stop")
        if include_usage:
            c = ChatCompletionChunk(id=cid, created=created, model=body.model, choices=[], usage=usage(content))
            yield "data: " + c.model_dump_json() + "\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
