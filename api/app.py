"""The FastAPI application: routers per resource, JSON errors, body limit, pages."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors
from api.crypto import mask
from api.deps import RateLimiter
from api.middleware import BodyLimitMiddleware
from api.routers import admin, catalog, chat, feedback, forms, health, hotline, pages, sessions, stats
from api.routers.pages import STATIC
from api.runtime import Runtime
from daoban.settings import Settings, get_settings


class ShapeKeepingMaskingFilter(logging.Filter):
    """Masks ID numbers and phones in a record's message and args, keeping their shape: uvicorn's
    access formatter unpacks ``record.args`` (a search query string can hold a phone number)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def _install_log_masking() -> None:
    """ID numbers and phones never reach a log line, whoever logs them."""
    for name in ("daoban", "daoban.api", "uvicorn.access", "uvicorn.error", "agent", "index"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ShapeKeepingMaskingFilter) for f in logger.filters):
            logger.addFilter(ShapeKeepingMaskingFilter())


def create_app(settings: Settings | None = None, load_assistant: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if load_assistant:
            app.state.runtime.start_loading()
        yield
        app.state.runtime.engine.dispose()

    app = FastAPI(title="daoban 一件事智能导办 API", version="0.1.0", lifespan=lifespan,
                  description="Citizen chat and forms (open, rate-limited), 12345 hotline and content staff "
                              "endpoints (X-API-Key with role hotline / staff). Errors: `{code, message}`.")
    app.state.runtime = Runtime(settings)
    app.state.rate_limiter = RateLimiter(settings.api.rate_limit_per_minute)
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    for module in (health, chat, sessions, forms, feedback, catalog, stats, hotline, admin, pages):
        app.include_router(module.router)
    app.include_router(catalog.v1)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _install_log_masking()
    return app


def app_from_env() -> FastAPI:
    """``uvicorn --factory api.app:app_from_env``: settings from DAOBAN_* variables."""
    from daoban.settings import load_settings

    return create_app(load_settings())
