"""Aggregate usage figures (no personal data): volumes, routing, latency, feedback, submissions.

Counted by the database (COUNT, SUM, GROUP BY): Python folds a few hundred groups, not every reply row, and
the same SQL runs on SQLite and PostgreSQL."""
from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Depends
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.db import FeedbackRow, ReplyRow, SessionRow, SubmissionRow
from api.deps import get_runtime, rate_limited, require_database
from api.runtime import Runtime
from api.schemas import FeedbackFigures, LatencyFigures, UsageStats

router = APIRouter(prefix="/v1", tags=["stats"], dependencies=[Depends(rate_limited), Depends(require_database)])


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _percentile(histogram: list[tuple[int, int]], n: int, p: float) -> int | None:
    """The nearest-rank percentile (the value at index round(p% of n-1) of the sorted latencies), read from
    (latency, count) pairs in ascending order."""
    if not n:
        return None
    rank, seen = min(n - 1, int(round(p / 100 * (n - 1)))), 0
    for value, count in histogram:
        seen += count
        if seen > rank:
            return value
    return None


def usage_stats(s: Session) -> UsageStats:
    """Two passes over the replies: one GROUP BY intent, route kind and channel with the flag counts (at most a
    few hundred groups, folded here), and one count per distinct latency for the exact percentiles."""
    r = ReplyRow
    groups = s.execute(select(
        r.intent, r.route_kind, r.channel, func.count(), _count_if(r.fallback), _count_if(r.clarify),
        _count_if(r.handoff), _count_if(r.low_confidence), func.coalesce(func.sum(r.latency_ms), 0),
    ).group_by(r.intent, r.route_kind, r.channel)).all()
    by: dict[str, Counter] = {"intent": Counter(), "route_kind": Counter(), "channel": Counter()}
    totals = [0] * 6  # count, fallback, clarify, handoff, low confidence, latency sum
    for intent, kind, channel, *figures in groups:
        by["intent"][intent] += figures[0]
        by["route_kind"][kind or "none"] += figures[0]
        by["channel"][channel] += figures[0]
        totals = [t + int(f) for t, f in zip(totals, figures)]
    n, fallback, clarify, handoff, low, latency_sum = totals
    histogram = s.execute(select(r.latency_ms, func.count()).group_by(r.latency_ms).order_by(r.latency_ms)).all()
    up, down, resolved, unresolved = s.execute(select(
        _count_if(FeedbackRow.thumbs == "up"), _count_if(FeedbackRow.thumbs == "down"),
        _count_if(FeedbackRow.resolved.is_(True)), _count_if(FeedbackRow.resolved.is_(False)))).one()
    rate = (lambda k: round(k / n, 3) if n else 0.0)
    return UsageStats(
        sessions=s.scalar(select(func.count()).select_from(SessionRow)),
        questions=n,
        by_intent=dict(by["intent"].most_common()),
        by_route_kind=dict(by["route_kind"].most_common()),
        by_channel=dict(by["channel"].most_common()),
        fallback_rate=rate(fallback), clarify_rate=rate(clarify), handoff_rate=rate(handoff),
        low_confidence_rate=rate(low),
        latency_ms=LatencyFigures(mean=round(latency_sum / n) if n else None, p50=_percentile(histogram, n, 50),
                                  p95=_percentile(histogram, n, 95)),
        feedback=FeedbackFigures(up=up, down=down, resolved=resolved, unresolved=unresolved),
        submissions=s.scalar(select(func.count()).select_from(SubmissionRow)),
    )


@router.get("/stats", response_model=UsageStats, summary="Usage figures")
def stats(rt: Runtime = Depends(get_runtime)) -> UsageStats:
    with rt.db() as s:
        return usage_stats(s)
