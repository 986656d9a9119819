"""GET /metrics for Prometheus: open unless ``api.metrics_token`` is set (then ``Authorization: Bearer <token>``)."""
from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api import metrics
from api.deps import client_address, get_runtime
from api.errors import ApiError
from api.runtime import Runtime

router = APIRouter(tags=["health"])


def metrics_access(request: Request, rt: Runtime = Depends(get_runtime)) -> None:
    token = rt.settings.api.metrics_token
    if not token:
        return
    given = request.headers.get("authorization", "")
    if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return
    wait = request.app.state.failed_keys.check(client_address(request))  # the same limit as wrong API keys
    if wait is not None:
        raise ApiError(429, "rate_limited", "令牌错误次数过多，请稍后再试", headers={"Retry-After": str(max(1, int(wait)))})
    raise ApiError(401, "unauthorized", "需要有效的监控令牌（Authorization: Bearer）", headers={"WWW-Authenticate": "Bearer"})


@router.get("/metrics", response_class=Response, dependencies=[Depends(metrics_access)],
            summary="Prometheus metrics: turns, feedback, HTTP requests, readiness (all workers)",
            responses={200: {"content": {metrics.CONTENT_TYPE: {}}, "description": "Prometheus text format"},
                       401: {"description": "api.metrics_token is set and the bearer token is not it"}})
def get_metrics(rt: Runtime = Depends(get_runtime)) -> Response:
    metrics.set_readiness(rt.index_ready, rt.assistant is not None and rt.ready)
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)
