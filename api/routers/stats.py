"""Aggregate usage figures (no personal data): volumes, routing, latency, feedback, submissions."""
from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Depends
from sqlalchemy import func, select

from api.db import FeedbackRow, ReplyRow, SessionRow, SubmissionRow
from api.deps import get_runtime, rate_limited, require_database
from api.runtime import Runtime
from api.schemas import Stats

router = APIRouter(prefix="/v1", tags=["stats"], dependencies=[Depends(rate_limited), Depends(require_database)])


def _percentile(values: list[int], p: float) -> int | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


@router.get("/stats", response_model=Stats, summary="Usage figures")
def stats(rt: Runtime = Depends(get_runtime)):
    with rt.db() as s:
        rows = s.execute(select(ReplyRow.intent, ReplyRow.route_kind, ReplyRow.fallback, ReplyRow.clarify,
                                ReplyRow.handoff, ReplyRow.low_confidence, ReplyRow.latency_ms, ReplyRow.channel)).all()
        feedback = s.execute(select(FeedbackRow.thumbs, FeedbackRow.resolved)).all()
        sessions = s.scalar(select(func.count()).select_from(SessionRow))
        submissions = s.scalar(select(func.count()).select_from(SubmissionRow))
    n = len(rows)
    latencies = [r.latency_ms for r in rows]
    rate = (lambda k: round(k / n, 3) if n else 0.0)
    return {
        "sessions": sessions,
        "questions": n,
        "by_intent": dict(Counter(r.intent for r in rows)),
        "by_route_kind": dict(Counter(r.route_kind or "none" for r in rows)),
        "by_channel": dict(Counter(r.channel for r in rows)),
        "fallback_rate": rate(sum(r.fallback for r in rows)),
        "clarify_rate": rate(sum(r.clarify for r in rows)),
        "handoff_rate": rate(sum(r.handoff for r in rows)),
        "low_confidence_rate": rate(sum(r.low_confidence for r in rows)),
        "latency_ms": {"mean": round(sum(latencies) / n) if n else None, "p50": _percentile(latencies, 50),
                       "p95": _percentile(latencies, 95)},
        "feedback": {"up": sum(f.thumbs == "up" for f in feedback), "down": sum(f.thumbs == "down" for f in feedback),
                     "resolved": sum(f.resolved is True for f in feedback),
                     "unresolved": sum(f.resolved is False for f in feedback)},
        "submissions": submissions,
    }
