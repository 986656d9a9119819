"""Prometheus metrics (prometheus-client): turns, feedback, HTTP requests and readiness.

One process: the default registry. Several workers (``daoban serve --workers N``, or any server that sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start): each worker writes its values to files in that folder
and ``/metrics`` on any worker sums them (prometheus-client's multiprocess mode).

Every label takes values from a fixed set (intents, route kinds, route templates, status codes): never free text
or ids, so the number of series stays bounded whatever users send."""
from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.reply import Reply

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

TURN_SECONDS = Histogram(
    "daoban_turn_seconds", "Time to answer one turn, by intent and by the kind of guide it was routed to",
    ["intent", "kind"], buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30))
NO_MATCH = Counter("daoban_no_match_turns", "Turns answered with no guide (未匹配: the /v1/stats fallback_rate turns, "
                                            "out of scope included); divide by daoban_turn_seconds_count for the rate")
LLM_FALLBACKS = Counter("daoban_llm_fallbacks", "Turns whose LLM lead was unavailable (busy, timeout, error): the "
                                                "cited answer went alone")
VERIFIER_FALLBACKS = Counter("daoban_verifier_fallbacks", "Turns whose LLM lead the verifier rejected: the cited "
                                                          "answer went alone")
FEEDBACK_RESOLVED = Counter("daoban_feedback_resolved", "问题已解决 / 未解决 answers", ["resolved"])
FEEDBACK_THUMBS = Counter("daoban_feedback_thumbs", "好评 / 差评 (thumbs up / down)", ["thumbs"])
HTTP_REQUESTS = Counter("daoban_http_requests", "HTTP requests by route template and status",
                        ["method", "route", "status"])
# livemin: with several workers, ready only when every live worker is.
INDEX_READY = Gauge("daoban_index_ready", "1 when the search index is loaded", multiprocess_mode="livemin")
MODEL_READY = Gauge("daoban_model_ready", "1 when the assistant (and its LLM backend) is loaded",
                    multiprocess_mode="livemin")

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "<unmatched>"


def observe_turn(reply: Reply, no_match: bool) -> None:
    kind = reply.route.kind if reply.route else "none"
    TURN_SECONDS.labels(reply.intent.name, kind).observe(reply.latency_ms / 1000)
    if no_match:
        NO_MATCH.inc()
    if reply.lead == "unavailable":
        LLM_FALLBACKS.inc()
    elif reply.lead == "rejected":
        VERIFIER_FALLBACKS.inc()


def observe_feedback(thumbs: str | None, resolved: bool | None) -> None:
    if resolved is not None:
        FEEDBACK_RESOLVED.labels("yes" if resolved else "no").inc()
    if thumbs in ("up", "down"):
        FEEDBACK_THUMBS.labels(thumbs).inc()


def set_readiness(index: bool, model: bool) -> None:
    INDEX_READY.set(int(index))
    MODEL_READY.set(int(model))


def exposition() -> bytes:
    """The text format of every metric: this process's, or all workers' in multiprocess mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def worker_exit() -> None:
    """A worker stopping: its live gauges leave the sums (its counters stay, as Prometheus expects)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())


def clear_multiprocess_dir(path) -> None:
    """Before the workers start: values of an earlier run must not add to this one's."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


class HttpMetricsMiddleware:
    """Counts every response by method, route template (``/v1/matters/{doc_id}``, never the path itself) and
    status, rejections by the outer middleware (413, 414) included."""

    def __init__(self, app: ASGIApp, routes: list):
        self.app = app
        self.routes = routes  # every route of the app, flat: requests refused before routing are named too

    def _template(self, scope: Scope, before: Scope) -> str:
        routed = scope.get("route")  # set by FastAPI's router
        if getattr(routed, "path", None):
            return routed.path
        partial = None
        for route in self.routes:
            match, _ = route.matches(before)  # as it came in (a mount rewrites root_path on the way)
            if match == Match.FULL:
                return getattr(route, "path", None) or UNMATCHED
            if match == Match.PARTIAL and partial is None:
                partial = getattr(route, "path", None)  # the path is right, the method is not (405)
        return partial or UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}
        before = dict(scope)

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            HTTP_REQUESTS.labels(method, self._template(scope, before), str(status["code"])).inc()
