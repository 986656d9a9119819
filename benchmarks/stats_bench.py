"""GET /v1/stats over a large replies table: the SQL aggregates (api/routers/stats.py) against the implementation
before issue 17, which read every reply row into Python (kept here only for the comparison).

    .venv/bin/python benchmarks/stats_bench.py [--rows 100000] [--repeat 5] [--database-url postgresql+psycopg://…]

Fills a fresh SQLite file (or the given empty database) with ``--rows`` replies, a tenth as many sessions and
feedback rows, checks that both implementations give the same figures, and prints each one's latency (median
and best of ``--repeat`` runs) and peak Python memory."""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from api.db import Base, FeedbackRow, ReplyRow, SessionRow, SubmissionRow, make_engine, make_sessionmaker, new_id  # noqa: E402
from api.routers.stats import usage_stats  # noqa: E402
from daoban.settings import load_settings  # noqa: E402

INTENTS = ["consult", "apply", "query_status", "complaint", "chitchat", "human", "out_of_scope"]
KINDS = ["scenario", "matter", "faq", "catalog", None]
CHANNELS = ["web", "app", "hotline"]


def old_stats(s) -> dict:
    """The implementation before issue 17, verbatim: every reply row into Python."""
    def _percentile(values: list[int], p: float) -> int | None:
        if not values:
            return None
        values = sorted(values)
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

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


def fill(db, rows: int, seed: int = 17) -> None:
    rnd = random.Random(seed)
    sessions = [new_id() for _ in range(max(1, rows // 10))]
    with db.begin() as s:
        s.execute(insert(SessionRow), [{"id": sid, "channel": rnd.choice(CHANNELS)} for sid in sessions])
        batch: list[dict] = []
        reply_ids = []
        for i in range(rows):
            rid = new_id()
            reply_ids.append(rid)
            batch.append({
                "id": rid, "session_id": rnd.choice(sessions), "channel": rnd.choice(CHANNELS),
                "question_masked": "公积金怎么提取", "intent": rnd.choice(INTENTS),
                "intent_confidence": rnd.random(), "route_kind": rnd.choice(KINDS),
                "route_id": f"doc-{rnd.randrange(300)}", "route_title": "标题", "route_score": rnd.random(),
                "cited_ids": "", "clarify": rnd.random() < 0.08, "handoff": rnd.random() < 0.03,
                "fallback": rnd.random() < 0.12, "low_confidence": rnd.random() < 0.2,
                "latency_ms": int(rnd.lognormvariate(3.8, 0.6)), "reply_enc": "x" * 400})
            if len(batch) == 5000:
                s.execute(insert(ReplyRow), batch)
                batch = []
        if batch:
            s.execute(insert(ReplyRow), batch)
        s.execute(insert(FeedbackRow), [
            {"reply_id": rnd.choice(reply_ids), "session_id": rnd.choice(sessions),
             "thumbs": rnd.choice(["up", "down", None]), "resolved": rnd.choice([True, False, None])}
            for _ in range(max(1, rows // 10))])


def timed(fn, db, repeat: int) -> tuple[list[float], float, object]:
    times, result = [], None
    for _ in range(repeat):
        with db() as s:
            t0 = time.perf_counter()
            result = fn(s)
            times.append(time.perf_counter() - t0)
    tracemalloc.start()
    with db() as s:
        fn(s)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return times, peak, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--database-url", default=None, help="an empty database to fill (default: a temp SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="daoban-stats-bench-") as tmp:
        settings = load_settings(data_dir=Path(tmp))
        if args.database_url:
            settings = settings.model_copy(update={"api": settings.api.model_copy(
                update={"database_url": args.database_url})})
        engine = make_engine(settings)
        db = make_sessionmaker(engine)
        t0 = time.perf_counter()
        fill(db, args.rows)
        print(f"filled {args.rows:,} replies ({engine.dialect.name}) in {time.perf_counter() - t0:.1f} s")
        old_t, old_mem, old = timed(old_stats, db, args.repeat)
        new_t, new_mem, new = timed(lambda s: usage_stats(s).model_dump(), db, args.repeat)
        assert new == old, f"the figures differ:\nold {old}\nnew {new}"
        print("same figures from both (questions %d, p50 %s ms, p95 %s ms)"
              % (new["questions"], new["latency_ms"]["p50"], new["latency_ms"]["p95"]))
        print(f"{'implementation':<28} {'median ms':>10} {'best ms':>9} {'peak MB':>8}")
        for name, t, mem in (("before: rows into Python", old_t, old_mem), ("after: SQL aggregates", new_t, new_mem)):
            print(f"{name:<28} {statistics.median(t) * 1000:>10.1f} {min(t) * 1000:>9.1f} {mem / 1e6:>8.1f}")
        print(f"speed-up (median): {statistics.median(old_t) / statistics.median(new_t):.1f}x")
        if args.database_url:
            Base.metadata.drop_all(engine)  # leave the given database empty, as it came
        engine.dispose()


if __name__ == "__main__":
    main()
