"""The FastAPI application: routers per resource, JSON errors, body limit, pages."""
from __future__ import annotations

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from agent.privacy import install_log_masking
from api import errors, metrics
from api.asr import Transcriber
from api.db import DataDirError
from api.deps import RateLimiter
from api.logs import RequestIdMiddleware
from api.middleware import (
    BodyLimitMiddleware,
    CitizenCORSMiddleware,
    SecurityHeadersMiddleware,
    UrlLimitMiddleware,
)
from api.routers import (admin, asr, catalog, chat, dify, feedback, forms, health, hotline, identity, openai_compat,
                         pages, ratings, sessions, stats, tickets)
from api.routers import metrics as metrics_route
from api.routers.pages import STATIC
from api.runtime import Runtime
from api.session_access import start_expiry_sweeper
from daoban.settings import ConfigError, Settings, get_settings, load_settings


def create_app(settings: Settings | None = None, load_assistant: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        metrics.set_readiness(False, False)  # this worker counts as not ready until it has loaded
        if load_assistant:
            app.state.runtime.start_loading()
        stop = threading.Event()
        start_expiry_sweeper(app.state.runtime, stop)
        yield
        stop.set()
        if app.state.transcriber is not None:
            app.state.transcriber.close()
        app.state.runtime.close()
        metrics.worker_exit()

    app = FastAPI(title="daoban 一件事智能导办 API", version="0.1.0", lifespan=lifespan,
                  description="Citizen chat and forms (rate-limited; a session's data needs the X-Session-Token "
                              "issued with it), 12345 hotline and content staff endpoints (X-API-Key with role "
                              "hotline / staff), and plug-in points for other platforms: OpenAI-compatible "
                              "`/v1/chat/completions` and Dify's external knowledge `/retrieval` (`Authorization: "
                              "Bearer` key with role integration, errors in those protocols' shapes). "
                              "Errors elsewhere: `{code, message}`.")
    app.state.runtime = Runtime(settings)
    # in the storage all workers share (api.rate_limit_storage): one budget per client, whichever worker serves
    storage = settings.api.rate_limit_storage
    app.state.rate_limiter = RateLimiter(settings.api.rate_limit_per_minute, storage, "citizen")
    app.state.failed_keys = RateLimiter(settings.api.failed_key_limit_per_minute, storage, "failed-key")
    app.state.integration_limiter = RateLimiter(settings.api.integration_rate_limit_per_minute, storage,
                                                "integration")
    # voice: the configured ASR server (none: POST /v1/asr answers 503, the widget hides its microphone)
    app.state.transcriber = Transcriber(settings.asr) if settings.asr.base_url else None
    app.state.asr_limiter = RateLimiter(settings.asr.rate_limit_per_minute, storage, "asr")
    errors.install(app)
    # Added inside out: the last one sees the request first.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api.max_body_bytes, timeout_s=settings.api.body_timeout_s,
                       per_path={"/v1/asr": settings.asr.max_bytes + asr.FORM_OVERHEAD})
    app.add_middleware(CitizenCORSMiddleware, origins=settings.api.cors_origins)
    app.add_middleware(UrlLimitMiddleware, max_bytes=settings.api.max_url_bytes)
    app.add_middleware(SecurityHeadersMiddleware, frame_ancestors=settings.api.frame_ancestors)
    # X-Forwarded-For only from the configured proxies (none by default): a client cannot choose its address.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.api.trusted_proxies)
    routers = [m.router for m in (health, metrics_route, chat, sessions, identity, forms, feedback, catalog, stats,
                                  hotline, admin, openai_compat, dify, asr)] + [catalog.v1]
    routers += [ratings.router, ratings.hotline, ratings.staff, tickets.router, tickets.hotline, tickets.staff,
                pages.router]
    for router in routers:
        app.include_router(router, responses=errors.COMMON_RESPONSES)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Outermost: every response is counted (the 413s and 414s above included) and carries a request id.
    app.add_middleware(metrics.HttpMetricsMiddleware, routes=[r for router in routers for r in router.routes]
                       + [r for r in app.routes if isinstance(r, Mount)])
    app.add_middleware(RequestIdMiddleware, trusted=settings.api.trusted_proxies)
    install_log_masking()  # every logger, uvicorn's access log and query strings included
    return app


def app_from_env() -> FastAPI:
    """``uvicorn --factory api.app:app_from_env``: settings from DAOBAN_* variables."""
    try:
        return create_app(load_settings())
    except (DataDirError, ConfigError) as exc:
        raise SystemExit(f"cannot start: {exc}") from None
