"""FastAPI dependencies: runtime (settings, db), API-key roles and the per-client rate limit (shared by workers)."""
from __future__ import annotations

import logging
import math
import time
from typing import Iterator

from fastapi import Depends, Request
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


ROLE_NAMES = {"hotline": "12345 热线坐席", "staff": "内容运营人员"}


def client_address(request: Request) -> str:
    """The peer's address; X-Forwarded-For counts only when it came from a configured proxy (the app's
    proxy-headers middleware rewrites the peer then), so a client cannot pick its own rate-limit bucket."""
    return request.client.host if request.client else "unknown"


def key_role(request: Request, settings: Settings) -> str | None:
    """The role of the request's ``X-API-Key``, or None. Wrong keys are counted per client address and
    limited, so keys cannot be guessed at speed."""
    key = request.headers.get("x-api-key", "").strip()
    if not key:
        return None
    failures: RateLimiter = request.app.state.failed_keys
    client = client_address(request)
    role = settings.api.api_keys.get(key)
    if role is None:
        wait = failures.check(client)
        if wait is not None:
            _too_many(wait, "密钥错误次数过多")
        return None
    return role


def require_role(*roles: str):
    """Key from ``X-API-Key``; 401 without a known key, 403 when its role is not one of ``roles``."""

    def check(request: Request, settings: Settings = Depends(get_settings)) -> str:
        role = key_role(request, settings)
        if role is None:
            raise ApiError(401, "unauthorized", "需要有效的访问密钥（X-API-Key）",
                           headers={"WWW-Authenticate": "APIKey"})
        if role not in roles:
            wanted = "、".join(ROLE_NAMES.get(r, r) for r in roles)
            raise ApiError(403, "forbidden", f"该访问密钥的角色无权使用此功能（需要：{wanted}）")
        return role

    return check


def _too_many(wait: float, what: str = "请求过于频繁") -> None:
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
        _too_many(wait)
