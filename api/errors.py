"""Every error leaves as JSON ``{code, message}`` with a Chinese message the pages can show as is."""
from __future__ import annotations

import logging
from typing import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("daoban.api")

DEFAULT_MESSAGES = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "需要有效的访问密钥（X-API-Key）"),
    403: ("forbidden", "该访问密钥无权使用此功能"),
    404: ("not_found", "找不到请求的内容"),
    408: ("request_timeout", "请求超时，请重试"),
    409: ("conflict", "请求与当前状态冲突"),
    405: ("method_not_allowed", "不支持此请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    414: ("uri_too_long", "请求地址过长"),
    415: ("unsupported_media_type", "请求内容须为 JSON"),
    422: ("invalid_request", "请求内容格式不正确"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    503: ("not_ready", "服务正在启动，请稍后再试"),
}


class ErrorBody(BaseModel):
    code: str
    message: str = Field(description="in Chinese, to show as is")


# What any route may answer besides its own: the contract every client can rely on, declared in /openapi.json.
COMMON_RESPONSES = {status: {"model": ErrorBody, "description": DEFAULT_MESSAGES[status][1]}
                    for status in (400, 401, 403, 404, 408, 409, 413, 414, 415, 429, 503)}


# Routes that speak another protocol's error shape (OpenAI, Dify) register a style for their path: every error
# of that path, from a handler, a validation failure or a middleware, then leaves in that shape.
ErrorStyle = Callable[[int, str, str], tuple[int, dict]]  # (status, code, message) -> (status, body)
_STYLES: dict[str, ErrorStyle] = {}


def register_style(path: str, style: ErrorStyle) -> None:
    _STYLES[path] = style


def styled(path: str, status: int, code: str, message: str, **extra) -> tuple[int, dict]:
    """The status and body of an error on ``path``: the path's style, else ``{code, message}``."""
    style = _STYLES.get(path.rstrip("/") or "/")
    return style(status, code, message) if style else (status, error_body(code, message, **extra))


def json_error(request: Request, status: int, code: str, message: str, headers: dict | None = None,
               **extra) -> JSONResponse:
    status, body = styled(request.url.path, status, code, message, **extra)
    return JSONResponse(body, status_code=status, headers=headers)


class ApiError(Exception):
    """Raise from a handler: ``ApiError(404, "matter_not_found", "找不到该事项")``."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, **extra):
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers, extra
        super().__init__(message)


def error_body(code: str, message: str, **extra) -> dict:
    return {"code": code, "message": message, **extra}


_FIELD_MESSAGES = {
    "missing": "缺少必填项",
    "json_invalid": "不是有效的 JSON",
    "string_too_long": "内容过长",
    "string_too_short": "内容不能为空",
    "literal_error": "取值不在允许范围内",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "string_type": "应为文字",
    "bool_type": "应为 true 或 false",
    "int_parsing": "应为整数",
    "extra_forbidden": "不认识的字段",
    "string_pattern_mismatch": "格式不正确",
    "enum": "取值不在允许范围内",
    "int_type": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "list_type": "应为列表",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "too_long": "项目过多",
    "too_short": "项目过少",
    "uuid_parsing": "格式不正确",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return json_error(request, exc.status, exc.code, exc.message, exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code, message = DEFAULT_MESSAGES.get(exc.status_code, ("error", "请求失败"))
        if isinstance(exc.detail, str) and exc.detail and not exc.detail.isascii():
            message = exc.detail
        return json_error(request, exc.status_code, code, message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        details = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p != "body"]
            details.append({"field": ".".join(loc), "message": _FIELD_MESSAGES.get(err.get("type", ""), "取值不正确")})
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            message = "请求内容不是有效的 JSON"
        elif any(e.get("type") == "missing" and tuple(e.get("loc", ())) == ("body",) for e in exc.errors()):
            message = "请求内容为空"
        else:
            message = "请求内容格式不正确：" + "；".join(
                f"{d['field'] or '请求'} {d['message']}" for d in details[:3])
        return json_error(request, 422, "invalid_request", message, errors=details)

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(request: Request, exc: SQLAlchemyError):
        # A lost or broken database is an outage to report (503, like /readyz), not a bug (500).
        log.error("database error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return json_error(request, 503, "database_unavailable", "数据存储暂时不可用，请稍后再试或拨打 12345",
                          {"Retry-After": "30"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_error(request, 500, "internal", "服务内部错误，请稍后再试或拨打 12345")
