"""Operating the service, on real `daoban serve` processes: JSON and text logs with request ids and nothing personal,
Prometheus /metrics (one process, and two workers in multiprocess mode), and the capped session history."""
from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest_api import SCENARIO, Server, base_env, build_test_index, id_number, make_corpus
from tests.scripted_llm import ScriptedChatServer

pytestmark = pytest.mark.slow

NAME = "王丽"
ID = id_number("11010519900307231")
PHONE = "13912345678"
PII_TURN = f"我要办新生儿出生一件事，我叫{NAME}，身份证{ID}，电话{PHONE}"
CONSULT = "新生儿出生一件事需要带什么材料？"
NO_MATCH = "游艇码头的泊位租赁合同怎么签"  # nothing in the test corpus
METRICS_TOKEN = "metrics-secret-token"
HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def llm():
    server = ScriptedChatServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ops")
    root = make_corpus(tmp / "corpus")
    build_test_index(base_env(tmp, root))
    return tmp, root


@pytest.fixture(scope="module")
def one(corpus, llm, tmp_path_factory):
    """`daoban serve`, one process, its default JSON logs, an LLM (a scripted OpenAI-compatible server) so leads
    are accepted, rejected or time out, loopback as the trusted proxy, and a history of 3 turns."""
    _, root = corpus
    tmp = tmp_path_factory.mktemp("one")
    env = base_env(tmp, root, DAOBAN_LLM__BACKEND="openai", DAOBAN_LLM__BASE_URL=llm.url,
                   DAOBAN_LLM__MODEL="scripted", DAOBAN_LLM__API_KEY="test", DAOBAN_LLM__TIMEOUT_S="2",
                   DAOBAN_API__TRUSTED_PROXIES='["127.0.0.1"]', DAOBAN_API__MAX_HISTORY_TURNS="3")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    _copy_index(corpus[0], tmp)
    server = Server(env=env, log_path=tmp / "server.log", serve_args=[]).start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def two(corpus, tmp_path_factory):
    """`daoban serve --workers 2` with text logs and /metrics behind a token."""
    _, root = corpus
    tmp = tmp_path_factory.mktemp("two")
    env = base_env(tmp, root, DAOBAN_API__LOG_FORMAT="text", DAOBAN_API__METRICS_TOKEN=METRICS_TOKEN)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    _copy_index(corpus[0], tmp)
    server = Server(env=env, log_path=tmp / "server.log", serve_args=["--workers", "2"]).start()
    yield server
    server.kill()


def _copy_index(built: Path, tmp: Path) -> None:
    import shutil

    shutil.copytree(built / "data" / "index", tmp / "data" / "index")


def _client(server: Server, source: str = "127.0.0.1", fresh: bool = False) -> httpx.Client:
    """From a chosen loopback address; ``fresh``: a new connection per request (spread over the workers)."""
    limits = httpx.Limits(max_keepalive_connections=0) if fresh else httpx.Limits()
    return httpx.Client(base_url=server.url, timeout=60, limits=limits,
                        transport=httpx.HTTPTransport(local_address=source, limits=limits))


def _json_lines(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def _assert_nothing_personal(log: str) -> None:
    for secret in (ID, PHONE, NAME, ID[:14], PHONE[3:]):
        assert secret not in log, secret


# -- logs -----------------------------------------------------------------------------------------------------

def test_json_logs_carry_the_request_id_and_nothing_personal(one):
    with _client(one, "127.0.0.2") as untrusted, _client(one) as trusted:
        theirs = str(uuid.uuid4())
        r = untrusted.post("/v1/chat", json={"message": PII_TURN}, headers={"X-Request-ID": theirs})
        assert r.status_code == 200, r.text
        rid = r.headers["x-request-id"]
        assert rid != theirs and HEX32.fullmatch(rid)  # an untrusted caller's id is replaced
        mine = uuid.uuid4().hex
        r = trusted.get("/healthz", headers={"X-Request-ID": mine})
        assert r.headers["x-request-id"] == mine  # the proxy's own id is kept
        r = trusted.get("/healthz", headers={"X-Request-ID": f"x{PHONE}y"})
        assert HEX32.fullmatch(r.headers["x-request-id"])  # not well formed: replaced
        assert trusted.get("/healthz").headers["x-request-id"] != rid  # one per request
    log = one.log()
    lines = _json_lines(log)
    assert lines and all({"time", "level", "logger", "message", "request_id"} <= set(x) for x in lines)
    turn = [x for x in lines if x["request_id"] == rid]
    loggers = {x["logger"] for x in turn}
    assert {"daoban.api", "uvicorn.access"} <= loggers, turn  # the chat line and the access line of that request
    chat_line = next(x for x in turn if x["logger"] == "daoban.api")
    assert "身份证" in chat_line["message"] and "****" in chat_line["message"]  # the turn was logged, masked
    access = [x for x in lines if x["logger"] == "uvicorn.access"]
    assert access and all(x["request_id"] and HEX32.fullmatch(x["request_id"]) for x in access)
    assert mine in {x["request_id"] for x in access}
    _assert_nothing_personal(log)


def test_text_logs_carry_the_request_id_and_nothing_personal(two):
    with _client(two) as http:
        r = http.post("/v1/chat", json={"message": PII_TURN})
        assert r.status_code == 200, r.text
        rid = r.headers["x-request-id"]
    log = two.log()
    mine = [line for line in log.splitlines() if f"[{rid}]" in line]
    assert any("daoban.api" in line and "身份证" in line for line in mine), mine
    assert any("uvicorn.access" in line and "POST /v1/chat" in line for line in mine), mine
    assert not any(line.startswith("{") for line in log.splitlines())
    _assert_nothing_personal(log)


# -- metrics --------------------------------------------------------------------------------------------------

def _scrape(http: httpx.Client, **kw) -> dict[tuple, float]:
    r = http.get("/metrics", **kw)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def _delta(after: dict, before: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def _no_match(reply: dict) -> bool:
    """The admin console's 未匹配 and /v1/stats' fallback: no guide, no question back, not a non-service intent."""
    intent = reply["intent"]["name"]
    return intent == "out_of_scope" or (reply["route"] is None and reply["clarify"] is None
                                        and intent not in ("chitchat", "query_status", "human", "complaint"))


def test_metrics_count_turns_fallbacks_feedback_and_requests(one, llm):
    with _client(one) as http:
        before = _scrape(http)
        replies = []
        llm.reply_text, llm.delay_s = "您好，以下是办理指南。", 0.0
        replies.append(http.post("/v1/chat", json={"message": CONSULT}))
        llm.reply_text = "本事项需缴纳888元工本费，3天办结。"  # facts the guide does not hold: the verifier refuses
        replies.append(http.post("/v1/chat", json={"message": CONSULT}))
        llm.reply_text, llm.delay_s = "您好。", 4.0  # slower than llm.timeout_s: the lead is unavailable
        replies.append(http.post("/v1/chat", json={"message": CONSULT}))
        llm.delay_s = 0.0
        replies.append(http.post("/v1/chat", json={"message": NO_MATCH}))
        replies.append(http.post("/v1/chat", json={"message": "你好"}))
        stream = http.post("/v1/chat/stream", json={"message": CONSULT})
        assert all(r.status_code == 200 for r in replies) and stream.status_code == 200
        bodies = [r.json() for r in replies]
        events = [json.loads(line[6:]) for line in stream.text.splitlines() if line.startswith("data: ")]
        bodies.append(next(e["reply"] for e in events if e["type"] == "reply"))
        assert [b.get("lead") for b in bodies[:3]] == ["accepted", "rejected", "unavailable"]
        session, token = bodies[0]["session_id"], replies[0].headers["x-session-token"]
        for thumbs, resolved in (("up", True), ("down", False), (None, None)):
            r = http.post("/v1/feedback", json={"session_id": session, "thumbs": thumbs, "resolved": resolved,
                                                "comment": "好"}, headers={"X-Session-Token": token})
            assert r.status_code == 200, r.text
        assert http.get("/v1/matters/no-such-doc").status_code == 404
        assert http.get(f"/no/such/{session}").status_code == 404
        assert http.post("/v1/chat", content=b"x" * 70_000, headers={"Content-Type": "application/json"}
                         ).status_code == 413
        text = http.get("/metrics").text
        after = _scrape(http)

    by_labels: dict[tuple, list[dict]] = {}
    for b in bodies:
        by_labels.setdefault((b["intent"]["name"], (b["route"] or {}).get("kind", "none")), []).append(b)
    for (intent, kind), group in by_labels.items():
        assert _delta(after, before, "daoban_turn_seconds_count", intent=intent, kind=kind) == len(group)
        seconds = _delta(after, before, "daoban_turn_seconds_sum", intent=intent, kind=kind)
        assert seconds == pytest.approx(sum(b["latency_ms"] for b in group) / 1000, abs=1e-6)
    assert sum(_no_match(b) for b in bodies) >= 1
    assert _delta(after, before, "daoban_no_match_turns_total") == sum(_no_match(b) for b in bodies)
    assert _delta(after, before, "daoban_verifier_fallbacks_total") == 1
    assert _delta(after, before, "daoban_llm_fallbacks_total") == 1
    assert _delta(after, before, "daoban_feedback_resolved_total", resolved="yes") == 1
    assert _delta(after, before, "daoban_feedback_resolved_total", resolved="no") == 1
    assert _delta(after, before, "daoban_feedback_thumbs_total", thumbs="up") == 1
    assert _delta(after, before, "daoban_feedback_thumbs_total", thumbs="down") == 1
    http_total = "daoban_http_requests_total"
    assert _delta(after, before, http_total, method="POST", route="/v1/chat", status="200") == 5
    assert _delta(after, before, http_total, method="POST", route="/v1/chat", status="413") == 1
    assert _delta(after, before, http_total, method="POST", route="/v1/chat/stream", status="200") == 1
    assert _delta(after, before, http_total, method="POST", route="/v1/feedback", status="200") == 3
    assert _delta(after, before, http_total, method="GET", route="/v1/matters/{doc_id}", status="404") == 1
    assert _delta(after, before, http_total, method="GET", route="<unmatched>", status="404") == 1
    assert after[("daoban_index_ready", ())] == 1 and after[("daoban_model_ready", ())] == 1
    # Bounded labels: no session id, message or path of a request is a label value.
    for secret in (session, "no-such-doc", "/no/such", CONSULT, NO_MATCH):
        assert secret not in text


def test_two_workers_add_up_and_metrics_need_the_token(two):
    with _client(two) as http:
        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"headers": {"Authorization": f"Bearer {METRICS_TOKEN}"}}
    folder = Path(two.env["DAOBAN_DATA_DIR"]) / "metrics"
    with _client(two, fresh=True) as http:
        before = _scrape(http, **auth)
        sent, served = 0, {}
        while sum(n > 0 for n in served.values()) < 2 and sent < 300:  # until both workers have served some
            assert http.get("/healthz").status_code == 200
            sent += 1
            served = _healthz_by_worker(folder)
        assert len(served) == 2 and all(served.values()), f"one worker served all {sent} requests: {served}"
        for _ in range(6):  # any worker answers the scrape with the sum over both
            after = _scrape(http, **auth)
            assert _delta(after, before, "daoban_http_requests_total", method="GET", route="/healthz",
                          status="200") == sent
        r = http.post("/v1/chat", json={"message": CONSULT})
        assert r.status_code == 200
        after = _scrape(http, **auth)
        kind = r.json()["route"]["kind"]
        assert _delta(after, before, "daoban_turn_seconds_count", intent="consult", kind=kind) == 1


def _healthz_by_worker(folder: Path) -> dict[str, float]:
    """/healthz responses counted in each worker's own file (read alone, as prometheus-client reads them all)."""
    import shutil
    import tempfile

    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    out = {}
    for f in folder.glob("counter_*.db"):
        with tempfile.TemporaryDirectory() as alone:
            shutil.copy(f, alone)
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=alone)
            out[f.stem.split("_")[-1]] = sum(s.value for m in registry.collect() for s in m.samples
                                             if s.name == "daoban_http_requests_total"
                                             and s.labels.get("route") == "/healthz")
    return out


def test_readiness_gauges_wait_for_every_worker(two):
    auth = {"headers": {"Authorization": f"Bearer {METRICS_TOKEN}"}}
    folder = Path(two.env["DAOBAN_DATA_DIR"]) / "metrics"
    assert len(list(folder.glob("gauge_livemin_*.db"))) == 2  # each live worker reports; the scrape takes the least
    with _client(two) as http:
        values = _scrape(http, **auth)
        deadline = time.time() + 240
        while values[("daoban_model_ready", ())] != 1 and time.time() < deadline:
            time.sleep(1)
            values = _scrape(http, **auth)
        assert values[("daoban_model_ready", ())] == 1 and values[("daoban_index_ready", ())] == 1


# -- history --------------------------------------------------------------------------------------------------

def test_history_is_capped_and_the_form_draft_kept(one):
    with _client(one) as http:
        r = http.post("/v1/chat", json={"message": PII_TURN})
        assert r.status_code == 200, r.text
        sid, auth = r.json()["session_id"], {"X-Session-Token": r.headers["x-session-token"]}
        filled = {f["key"]: f["value"] for f in r.json()["form"]["fields"] if f["value"]}
        assert filled.get("applicant_id_number") == ID and filled.get("applicant_phone") == PHONE
        for question in ("需要带什么材料？", "在哪里办理？", "要多长时间？", "收费吗？", "可以网上办吗？"):
            r = http.post("/v1/chat", json={"session_id": sid, "message": question}, headers=auth)
            assert r.status_code == 200, r.text  # turns beyond the cap work
        view = http.get(f"/v1/sessions/{sid}", headers=auth).json()
        turns = view["state"]["turns"]
        assert len(turns) == 6 and [t["role"] for t in turns] == ["user", "assistant"] * 3
        assert turns[0]["text"] == "要多长时间？"
        assert all(ID not in t["text"] for t in turns)  # the first turn is gone from what the agent keeps
        assert len(view["messages"]) == 6 and view["messages"][-2]["text"] == "可以网上办吗？"
        kept = {f["key"]: f["value"] for f in view["forms"][0]["fields"] if f["value"]}
        assert kept == filled  # what the form draft needs stays
        r = http.post("/v1/chat", json={"session_id": sid, "message": "我要办新生儿出生一件事"}, headers=auth)
        assert r.status_code == 200 and r.json()["form"]["scenario_id"] == SCENARIO
        again = {f["key"]: f["value"] for f in r.json()["form"]["fields"] if f["value"]}
        assert {k: again.get(k) for k in filled} == filled


# -- the log formatter on its own -------------------------------------------------------------------------------

@pytest.mark.parametrize("log_format", ["json", "text"])
def test_extra_fields_and_arguments_are_masked_in_both_formats(log_format, capsys):
    import logging
    import logging.config

    from api.logs import logging_config

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logging.config.dictConfig(logging_config(log_format))
        logging.getLogger("daoban.test").info("caller %s", f"{NAME}的电话{PHONE}", extra={"who": f"身份证{ID}"})
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    line = err.strip().splitlines()[-1]
    assert "的电话139****5678" in line
    if log_format == "json":
        record = json.loads(line)
        assert record["who"].startswith("身份证1101") and "*" in record["who"] and record["request_id"] is None
    _assert_nothing_personal(err)
