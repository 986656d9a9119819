"""GET /v1/stats from SQL aggregates: the same figures as counting every row in Python, on SQLite and on the run's real
PostgreSQL."""
from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest
from sqlalchemy import inspect, insert

from api.db import Base, FeedbackRow, ReplyRow, SessionRow, SubmissionRow, make_engine, make_sessionmaker, new_id
from api.routers.stats import usage_stats
from daoban.settings import load_settings


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    settings = load_settings(data_dir=tmp_path)
    if request.param == "postgresql":  # the run's real cluster (tests/conftest_services.py), a new database
        url = request.getfixturevalue("postgres").new_database("stats")
        settings = settings.model_copy(update={"api": settings.api.model_copy(update={"database_url": url})})
    engine = make_engine(settings)
    assert engine.dialect.name == request.param
    if request.param == "postgresql":  # a test database: start from empty tables
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
    yield make_sessionmaker(engine)
    if request.param == "postgresql":
        Base.metadata.drop_all(engine)
    engine.dispose()


def _fill(db, rnd: random.Random, replies: int) -> list[dict]:
    sessions = [new_id() for _ in range(7)]
    rows = [{"id": new_id(), "session_id": rnd.choice(sessions), "channel": rnd.choice(["web", "app", "hotline"]),
             "question_masked": "问", "intent": rnd.choice(["consult", "apply", "chitchat", "out_of_scope"]),
             "route_kind": rnd.choice(["scenario", "matter", "faq", None]), "clarify": rnd.random() < 0.2,
             "handoff": rnd.random() < 0.1, "fallback": rnd.random() < 0.3, "low_confidence": rnd.random() < 0.25,
             "latency_ms": rnd.randrange(0, 400), "reply_enc": "x"} for _ in range(replies)]
    feedback = [{"reply_id": rnd.choice(rows)["id"], "session_id": sessions[0],
                 "thumbs": rnd.choice(["up", "down", None]), "resolved": rnd.choice([True, False, None])}
                for _ in range(replies // 3)]
    with db.begin() as s:
        s.execute(insert(SessionRow), [{"id": sid} for sid in sessions])
        s.execute(insert(ReplyRow), rows)
        if feedback:
            s.execute(insert(FeedbackRow), feedback)
        s.add(SubmissionRow(receipt_no="R1", session_id=sessions[0], form_id="f", scenario_id="s", scenario_title="t",
                            departments="[]", values_enc="x"))
    return rows, feedback


def _expected(rows: list[dict], feedback: list[dict]) -> dict:
    """Counted the plain way, independently of the SQL."""
    n = len(rows)
    lat = sorted(r["latency_ms"] for r in rows)

    def pct(p):
        return lat[min(n - 1, int(round(p / 100 * (n - 1))))] if n else None

    return {
        "questions": n,
        "by_intent": dict(Counter(r["intent"] for r in rows)),
        "by_route_kind": dict(Counter(r["route_kind"] or "none" for r in rows)),
        "by_channel": dict(Counter(r["channel"] for r in rows)),
        **{f"{k}_rate": round(sum(r[k] for r in rows) / n, 3) if n else 0.0
           for k in ("fallback", "clarify", "handoff", "low_confidence")},
        "latency_ms": {"mean": round(statistics.fmean(lat)) if n else None, "p50": pct(50), "p95": pct(95)},
        "feedback": {"up": sum(f["thumbs"] == "up" for f in feedback),
                     "down": sum(f["thumbs"] == "down" for f in feedback),
                     "resolved": sum(f["resolved"] is True for f in feedback),
                     "unresolved": sum(f["resolved"] is False for f in feedback)},
    }


@pytest.mark.parametrize("replies", [1, 2, 37, 1000])
def test_aggregates_equal_counting_every_row(db, replies):
    rows, feedback = _fill(db, random.Random(replies), replies)
    with db() as s:
        got = usage_stats(s).model_dump()
    assert got.pop("sessions") == 7 and got.pop("submissions") == 1
    assert got == _expected(rows, feedback)


def test_an_empty_database(db):
    with db() as s:
        got = usage_stats(s).model_dump()
    assert got["questions"] == 0 and got["by_intent"] == {} and got["fallback_rate"] == 0.0
    assert got["latency_ms"] == {"mean": None, "p50": None, "p95": None}
    assert got["feedback"] == {"up": 0, "down": 0, "resolved": 0, "unresolved": 0}


def test_a_database_made_before_the_indexes_gets_them(tmp_path):
    """A database at the first revision (before the stats indexes) gets them from its migration at the next start."""
    from api import migrate

    settings = load_settings(data_dir=tmp_path)
    engine = make_engine(settings, migrate=False)
    migrate.upgrade(engine, "0001")
    assert "ix_replies_stats" not in {i["name"] for i in inspect(engine).get_indexes("replies")}
    engine.dispose()
    engine = make_engine(settings)
    assert {"ix_replies_stats", "ix_replies_latency"} <= {i["name"] for i in inspect(engine).get_indexes("replies")}
    engine.dispose()
