"""Liveness and readiness."""
from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api.db import database_ok
from api.deps import get_runtime
from api.runtime import Runtime
from api.schemas import Health, NotReady, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process answers")
def healthz():
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": NotReady, "description": "not ready yet"}},
            summary="The database answers a real query, and the index and the model are loaded "
                               "(503 otherwise)")
def readyz(rt: Runtime = Depends(get_runtime)):
    database_error = database_ok(rt.engine, rt.settings)
    body = {"database": database_error is None, "database_dialect": rt.engine.dialect.name, "index": rt.index_ready,
            "model": rt.assistant is not None and rt.ready, "llm_backend": rt.settings.llm.backend}
    if rt.ready and database_error is None:
        return Readiness(ready=True, **body)
    if database_error:
        message = f"数据库不可用：{database_error}"
    else:
        message = "索引或模型正在加载" if not rt.load_error else f"加载失败：{rt.load_error}"
    return JSONResponse(NotReady(code="not_ready", message=message, ready=False, **body).model_dump(), status_code=503)
