"""FastAPI dependencies: runtime (settings, db), API-key roles and the per-client rate limit (shared by workers)."""
from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Iterator

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItemPerMinute
from limits.storage import MovingWindowSupport, storage_from_string
from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.runtime import Runtime
from daoban.settings import Settings

log = logging.getLogger("daoban.api")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_settings(rt: Runtime = Depends(get_runtime)) -> Settings:
    return rt.settings


def require_database(rt: Runtime = Depends(get_runtime)) -> None:
    """503 when the SQLite file is gone: pooled connections would still write to the deleted file, and
    every citizen's turn would be lost without a word."""
    if rt.sqlite_file is not None and not rt.sqlite_file.exists():
        raise ApiError(503, "database_unavailable", "数据存储暂时不可用，请稍后再试或拨打 12345",
                       headers={"Retry-After": "30"})


def get_db(rt: Runtime = Depends(get_runtime)) -> Iterator[Session]:
    with rt.db() as session:
        yield session


ROLE_NAMES = {"hotline": "12345 热线坐席", "staff": "内容运营人员", "integration": "外部平台接入"}

# Declared through FastAPI's security classes so /docs shows an Authorize button for each way a key is sent.
# auto_error=False: a missing key is answered by require_role below (JSON 401 in the route's error style).
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="APIKey",
                              description="hotline or staff key")
BEARER = HTTPBearer(auto_error=False, scheme_name="BearerKey", bearerFormat="API key",
                    description="integration key, as OpenAI clients and Dify send it: `Authorization: Bearer <key>`")


def client_address(request: Request) -> str:
    """The peer's address; X-Forwarded-For counts only when it came from a configured proxy (the app's
    proxy-headers middleware rewrites the peer then), so a client cannot pick its own rate-limit bucket."""
    return request.client.host if request.client else "unknown"


def key_role(request: Request, settings: Settings, key: str | None = None) -> str | None:
    """The role of ``key`` (default: the request's ``X-API-Key``), or None. Wrong keys are counted per client
    address and limited, so keys cannot be guessed at speed."""
    key = (request.headers.get("x-api-key", "") if key is None else key).strip()
    if not key:
        return None
    failures: RateLimiter = request.app.state.failed_keys
    client = client_address(request)
    role = settings.api.api_keys.get(key)
    if role is None:
        wait = failures.check(client)
        if wait is not None:
            too_many(wait, "密钥错误次数过多")
        return None
    return role


def _check_role(request: Request, settings: Settings, key: str | None, roles: tuple[str, ...], header: str,
                challenge: str) -> str:
    role = key_role(request, settings, key or "")
    if role is None:
        raise ApiError(401, "unauthorized", f"需要有效的访问密钥（{header}）", headers={"WWW-Authenticate": challenge})
    if role not in roles:
        wanted = "、".join(ROLE_NAMES.get(r, r) for r in roles)
        raise ApiError(403, "forbidden", f"该访问密钥的角色无权使用此功能（需要：{wanted}）")
    return role


def require_role(*roles: str):
    """Key from ``X-API-Key``; 401 without a known key, 403 when its role is not one of ``roles``."""

    def check(request: Request, key: str | None = Security(API_KEY_HEADER),
              settings: Settings = Depends(get_settings)) -> str:
        return _check_role(request, settings, key, roles, "X-API-Key", "APIKey")

    return check


def require_bearer(*roles: str):
    """Key from ``Authorization: Bearer``, the integration protocols' way; returns the key itself (sessions of an
    integration are owned by its key). 401 without a known key, 403 when its role is not one of ``roles``."""

    def check(request: Request, credentials: HTTPAuthorizationCredentials | None = Security(BEARER),
              settings: Settings = Depends(get_settings)) -> str:
        if credentials is None:  # missing, or not of the form "Bearer <key>"
            raise ApiError(401, "bearer_missing", "需要 Authorization: Bearer <访问密钥>",
                           headers={"WWW-Authenticate": "Bearer"})
        _check_role(request, settings, credentials.credentials, roles, "Authorization: Bearer", "Bearer")
        return credentials.credentials

    return check


def integration_budget(key_dependency):
    """The key from ``key_dependency``, within its per-key budget (``api.integration_rate_limit_per_minute``): a
    platform speaks for many citizens from one address, so its key, not its address, is what is limited."""

    def check(request: Request, key: str = Depends(key_dependency)) -> str:
        wait = request.app.state.integration_limiter.check(hashlib.sha256(key.encode()).hexdigest())
        if wait is not None:
            too_many(wait)
        return key

    return check


def too_many(wait: float, what: str = "请求过于频繁") -> None:
    """Raise 429 with Retry-After."""
    seconds = max(1, math.ceil(wait))
    raise ApiError(429, "rate_limited", f"{what}，请 {seconds} 秒后再试", headers={"Retry-After": str(seconds)})


class RateLimiter:
    """A moving one-minute window per client address (the ``limits`` library), kept in the storage every worker
    shares: ``api.rate_limit_storage``, ``memory://`` for one process, ``redis://host:port`` for several
    (memcached:// works too, with a sliding-window counter). ``namespace`` keeps two limits apart in one storage."""

    def __init__(self, per_minute: int, storage_uri: str = "memory://", namespace: str = "citizen"):
        self.per_minute = per_minute
        self.item = RateLimitItemPerMinute(per_minute, namespace=f"daoban-{namespace}") if per_minute > 0 else None
        storage = storage_from_string(storage_uri)
        self.limiter = (MovingWindowRateLimiter(storage) if isinstance(storage, MovingWindowSupport)
                        else SlidingWindowCounterRateLimiter(storage))
        self._warned = 0.0

    def check(self, client: str) -> float | None:
        """None when allowed, else seconds until the client may retry."""
        if self.item is None:
            return None
        try:
            if self.limiter.hit(self.item, client):
                return None
            reset_at, _ = self.limiter.get_window_stats(self.item, client)
        except Exception:  # noqa: BLE001 - the shared store is down: serve (a cost bound, not a gate), say so
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("rate-limit storage unreachable: requests are not limited meanwhile", exc_info=True)
            return None
        return max(1.0, reset_at - time.time())


def rate_limited(request: Request) -> None:
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.check(client_address(request))
    if wait is not None:
        too_many(wait)
