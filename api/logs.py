"""Log lines of ``daoban serve``: one JSON object per line (the default, for a log shipper) or plain text, each
line of a request carrying its request id (asgi-correlation-id, also sent back as ``X-Request-ID``).

Personal data never gets out in either format: ``agent.privacy`` masks every record where it is made, the handler
masks again, and the JSON formatter masks any extra field a caller attached."""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal

from asgi_correlation_id import CorrelationIdMiddleware
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.privacy import mask

REQUEST_ID_HEADER = "X-Request-ID"
# A UUID, or 32 hex digits (nginx's $request_id, OpenTelemetry trace ids): nothing else is echoed into logs.
_WELL_FORMED = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_FIELDS = {"timestamp": "time", "levelname": "level", "name": "logger", "message": "message",
           "correlation_id": "request_id"}


def well_formed_request_id(value: str) -> bool:
    return bool(_WELL_FORMED.fullmatch(value))


class MaskingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter; fields beyond the fixed ones (``extra=`` of a call) are masked as well,
    since the record factory masks only the message, its arguments and tracebacks."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        fixed = set(_FIELDS.values())
        return {k: (mask(v) if isinstance(v, str) and k not in fixed else v) for k, v in log_data.items()}


def logging_config(log_format: Literal["json", "text"], level: str = "INFO") -> dict:
    """A ``logging.config.dictConfig`` for the whole process, uvicorn's loggers included (uvicorn applies it in
    every worker): one stderr handler, masked, with the request id."""
    formatters = {
        "json": {"()": "api.logs.MaskingJsonFormatter", "fmt": ["levelname", "name", "message", "correlation_id"],
                 "rename_fields": _FIELDS, "timestamp": True, "json_ensure_ascii": False,
                 # uvicorn adds a coloured copy of some messages; the plain one is enough
                 "reserved_attrs": [*RESERVED_ATTRS, "color_message"]},
        "text": {"format": "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"},
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "mask": {"()": "agent.privacy.MaskingFilter"},
            "request_id": {"()": "asgi_correlation_id.CorrelationIdFilter",
                           "default_value": None if log_format == "json" else "-"},
        },
        "formatters": {log_format: formatters[log_format]},
        "handlers": {"default": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                 "formatter": log_format, "filters": ["mask", "request_id"]}},
        # uvicorn's own loggers go to the one handler instead of their coloured ones
        "loggers": {name: {"handlers": [], "propagate": True, "level": level}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
        "root": {"handlers": ["default"], "level": level},
    }


class RequestIdMiddleware:
    """``X-Request-ID`` on every request and response, in every log line of the request. A well-formed incoming
    id is kept only from a trusted peer (``api.trusted_proxies``: the load balancer that made it); anyone else's is
    replaced, so a client cannot write what it likes into the logs or pose as another request."""

    def __init__(self, app: ASGIApp, trusted: list[str]):
        self.app = app
        self.inner = CorrelationIdMiddleware(app, header_name=REQUEST_ID_HEADER, validator=well_formed_request_id)
        self.any_peer = "*" in trusted
        self.networks, self.literals = [], set()
        for entry in trusted:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.literals.add(entry)  # as uvicorn's proxy headers read them: a name or a socket path

    def _trusted(self, scope: Scope) -> bool:
        if self.any_peer:
            return True
        peer = (scope.get("client") or ("",))[0]
        if peer in self.literals:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in n for n in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._trusted(scope):
            name = REQUEST_ID_HEADER.lower().encode()
            scope = {**scope, "headers": [(k, v) for k, v in scope.get("headers", []) if k != name]}
        await self.inner(scope, receive, send)
