"""Plain ASGI middleware, so a bad request is refused before any parsing: body size and time, URL length,
CORS for the citizen API only, and security headers."""
from __future__ import annotations

import asyncio
import json

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import styled

# Console APIs and pages: no CORS, so no other site's page can call them from a browser, and never framed.
# The integration APIs (OpenAI-compatible chat, Dify retrieval) are called by platforms' servers with a key: no CORS.
CONSOLE_PREFIXES = ("/v1/hotline", "/v1/admin", "/v1/stats", "/hotline", "/admin", "/docs", "/redoc", "/metrics",
                    "/v1/chat/completions", "/retrieval")


async def send_json(send: Send, status: int, code: str, message: str, path: str = "") -> None:
    status, payload = styled(path, status, code, message)  # in the route's error style (OpenAI, Dify, ours)
    body = json.dumps(payload, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class UrlLimitMiddleware:
    """An over-long URL gets a JSON 414 like every other error (uvicorn's own limit is far higher)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") \
                > self.max_bytes:
            await send_json(send, 414, "uri_too_long", f"请求地址过长（上限 {self.max_bytes} 字节）", scope["path"])
            return
        await self.app(scope, receive, send)


class CitizenCORSMiddleware:
    """CORS for the citizen endpoints (the widget runs on a government portal), never for the consoles."""

    def __init__(self, app: ASGIApp, origins: list[str]):
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                                   allow_headers=["Content-Type", "X-Session-Token", "Idempotency-Key"],
                                   expose_headers=["X-Reply-Id", "X-Session-Token", "Retry-After", "X-Request-ID"], max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(CONSOLE_PREFIXES):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """nosniff and no referrer everywhere; a CSP on pages: scripts from this server only, the consoles never
    in a frame, the citizen page only in the frames settings allow."""

    def __init__(self, app: ASGIApp, frame_ancestors: list[str]):
        self.app = app
        self.citizen_frames = " ".join(frame_ancestors) or "'none'"

    def _csp(self, path: str) -> bytes:
        frames = "'none'" if path.startswith(CONSOLE_PREFIXES) else self.citizen_frames
        return (f"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                f"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
                f"frame-ancestors {frames}").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
                content_type = next((v for k, v in headers if k == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    headers.append((b"content-security-policy", self._csp(path)))
                    if path.startswith(CONSOLE_PREFIXES):
                        headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimitMiddleware:
    """A body larger than the limit gets 413, and one that does not arrive whole in time gets 408. ``per_path``
    gives a path a limit of its own (a voice clip is larger than any JSON body)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 15.0, per_path: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.per_path = per_path or {}

    async def _reject(self, send: Send, path: str, limit: int) -> None:
        await send_json(send, 413, "payload_too_large", f"请求内容过大（上限 {limit // 1000} KB）", path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        await self._reject(send, scope["path"], limit)
                        return
                except ValueError:
                    pass
        # Chunked bodies carry no length: read them here, up to the limit, then replay.
        chunks: list[bytes] = []
        size = 0
        more = True
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(0.01, deadline - asyncio.get_running_loop().time()))
            except asyncio.TimeoutError:
                await send_json(send, 408, "request_timeout", f"请求内容未在 {self.timeout_s:g} 秒内传完，请重试",
                                scope["path"])
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(send, scope["path"], limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
