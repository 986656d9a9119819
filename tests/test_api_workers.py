"""Several workers behind one load balancer, with real processes: two servers on different ports share one
PostgreSQL (and one Redis for the rate limits). A session started on A carries on on B (its 情形 answers and
its form draft), a submission made on A survives A's SIGKILL and is read on B, requests split across A and B
meet one shared rate limit, and ``daoban serve --workers 2`` runs two worker processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from conftest_api import ROOT, SCENARIO, Server, base_env, build_test_index, free_port, id_number, make_corpus

pytestmark = pytest.mark.slow
FORM = f"{SCENARIO}-form"
FIELDS = {"applicant_name": "王强", "applicant_id_number": id_number("37020319850612331"),
          "applicant_phone": "13687654321", "applicant_relation": "父亲", "baby_name": "王小满",
          "baby_gender": "女", "baby_birth_date": "2026-11-10", "birth_hospital": "青岛市妇女儿童医院",
          "mother_name": "赵敏", "mother_id_number": id_number("37020319880101002"), "hukou_follow": "随父",
          "hukou_address": "山东省青岛市市南区香港中路10号"}


def shared_env(tmp: Path, database_url: str, **extra: str) -> dict:
    """What every worker of one site shares: the database, the data key, the corpus (and index) files."""
    env = base_env(tmp, make_corpus(tmp / "corpus"), DAOBAN_API__DATABASE_URL=database_url,
                   DAOBAN_API__SECRET_KEY=Fernet.generate_key().decode(), **extra)
    return env


def pair(tmp: Path, env: dict, wait_ready: bool) -> tuple[Server, Server]:
    a = Server(env=env, log_path=tmp / "a.log")
    b = Server(env=env, log_path=tmp / "b.log")
    return a.start(wait_ready=wait_ready), b.start(wait_ready=wait_ready)


@pytest.fixture(scope="module")
def workers(tmp_path_factory, postgres):
    tmp = tmp_path_factory.mktemp("workers")
    env = shared_env(tmp, postgres.new_database("workers"))
    build_test_index(env)
    a, b = pair(tmp, env, wait_ready=True)
    yield a, b
    a.kill()
    b.kill()


def test_both_workers_are_on_postgresql(workers):
    for server in workers:
        assert httpx.get(server.url + "/readyz").json()["database_dialect"] == "postgresql"


def test_a_session_started_on_a_continues_on_b(workers):
    a, b = workers
    with a.client() as on_a, b.client() as on_b:
        first = on_a.post("/v1/chat", json={"message": "孩子刚出生，要办出生一件事"})
        assert first.status_code == 200, first.text
        sid, auth = first.json()["session_id"], {"X-Session-Token": first.headers["x-session-token"]}
        assert first.json()["route"]["id"] == SCENARIO
        # B knows the session A issued: its secret works there, the transcript is the same
        seen = on_b.get(f"/v1/sessions/{sid}", headers=auth)
        assert seen.status_code == 200 and seen.json()["state"]["route"]["id"] == SCENARIO
        clarify = first.json()["clarify"]
        if clarify and clarify["kind"] == "situation":
            # the 情形 question A asked is answered on B: B resolves it against A's pending question
            answer = on_b.post("/v1/chat", json={"session_id": sid, "message": clarify["options"][0]["title"]},
                               headers=auth)
            assert answer.status_code == 200, answer.text
            assert (answer.json()["clarify"] or {}).get("question") != clarify["question"]
            state = on_a.get(f"/v1/sessions/{sid}", headers=auth).json()["state"]
            assert state["answers"], state
        else:  # no 情形 asked: the follow-up on B still continues A's route
            follow = on_b.post("/v1/chat", json={"session_id": sid, "message": "需要带什么材料"}, headers=auth)
            assert follow.status_code == 200 and follow.json()["route"]["id"] == SCENARIO
        # the form: an edit on A, read and completed on B, submitted on A
        assert on_a.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {"baby_name": "王小满"}},
                         headers=auth).status_code == 200
        draft = on_b.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=auth).json()
        assert {f["key"]: f["value"] for f in draft["fields"]}["baby_name"] == "王小满"
        rest = {k: v for k, v in FIELDS.items() if k != "baby_name"}
        assert on_b.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": rest}, headers=auth).status_code == 200
        receipt = on_a.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid, "fields": {}}, headers=auth)
        assert receipt.status_code == 200, receipt.text
        messages = on_a.get(f"/v1/sessions/{sid}", headers=auth).json()["messages"]
        assert len(messages) >= 4  # both workers' turns in one transcript
        # a stranger gets nothing on either worker
        assert on_b.get(f"/v1/sessions/{sid}").status_code == 403


def test_concurrent_edits_split_across_workers_all_land(workers):
    """Each edit reads the session's draft, changes one field and writes it back: without a lock both workers
    see, one worker's write would drop the other's field."""
    import concurrent.futures as cf

    a, b = workers
    keys = list(FIELDS)
    with a.client() as on_a:
        started = on_a.post("/v1/sessions", json={}).json()
    sid, auth = started["session_id"], {"X-Session-Token": started["session_token"]}

    def edit(i: int) -> int:
        key = keys[i % len(keys)]
        with (a if i % 2 == 0 else b).client() as c:
            return c.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {key: FIELDS[key]}},
                          headers=auth).status_code

    with cf.ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(edit, range(len(keys) * 2)))
    assert codes == [200] * len(codes), codes
    with b.client() as on_b:
        draft = {f["key"]: f["value"] for f in
                 on_b.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=auth).json()["fields"]}
    missing = [k for k in keys if draft.get(k) != FIELDS[k] and k in draft]
    assert not missing, missing
    assert sum(1 for k in keys if draft.get(k)) >= len(keys) - 2  # fields shown under 情形 conditions may hide


def test_a_submission_survives_sigkill_of_its_worker(workers, tmp_path):
    a, b = workers
    with a.client() as on_a:
        started = on_a.post("/v1/sessions", json={}).json()
        r = on_a.post(f"/v1/forms/{FORM}/submit", json={"session_id": started["session_id"], "fields": FIELDS},
                      headers={"X-Session-Token": started["session_token"]})
        assert r.status_code == 200, r.text
        receipt = r.json()
    a.kill(signal.SIGKILL)  # no shutdown hook, no flush: only what was committed survives
    assert a.proc.returncode == -signal.SIGKILL
    with b.client() as on_b:
        status = on_b.get(f"/v1/submissions/{receipt['receipt_no']}")
        assert status.status_code == 200
        assert status.json()["receipt_no"] == receipt["receipt_no"] and status.json()["status"] == "已受理"
        # and B goes on serving that citizen's session
        again = on_b.post(f"/v1/forms/{FORM}/submit", json={"session_id": started["session_id"], "fields": FIELDS},
                          headers={"X-Session-Token": started["session_token"]})
        assert again.status_code == 200 and again.json()["receipt_no"] == receipt["receipt_no"]
    a.start()  # the next tests of this module have both workers again


def test_requests_split_across_workers_meet_one_shared_rate_limit(tmp_path, postgres, redis_url):
    env = shared_env(tmp_path, postgres.new_database("limits"), DAOBAN_API__RATE_LIMIT_PER_MINUTE="6",
                     DAOBAN_API__RATE_LIMIT_STORAGE=redis_url)
    a, b = pair(tmp_path, env, wait_ready=False)
    try:
        with a.client() as on_a, b.client() as on_b:
            codes = [(on_a if i % 2 == 0 else on_b).get("/v1/scenarios").status_code for i in range(8)]
            # 6 in all, whichever worker served them: each alone would have let 6 through (12 in all)
            assert codes == [200] * 6 + [429, 429], codes
            assert on_b.get("/v1/scenarios").status_code == 429 and on_a.get("/v1/scenarios").status_code == 429
            assert on_a.get("/healthz").status_code == 200
    finally:
        a.kill()
        b.kill()


def test_serve_runs_several_workers(tmp_path, postgres, redis_url):
    env = shared_env(tmp_path, postgres.new_database("serve"), DAOBAN_API__RATE_LIMIT_STORAGE=redis_url)
    build_test_index(env)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "daoban.cli", "serve", "--workers", "2", "--port", str(port),
                             "--llm", "none"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        workers = [c for c in children if b"api.app" in Path(f"/proc/{c}/cmdline").read_bytes()
                   or b"multiprocessing" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) >= 2, (children, (tmp_path / "serve.log").read_text()[-2000:])
        # each new connection may reach either worker: all answer on the shared PostgreSQL
        for _ in range(20):
            with httpx.Client(base_url=url, timeout=60) as http:  # a new connection each time
                assert http.get("/readyz").json()["database_dialect"] == "postgresql"
        with httpx.Client(base_url=url, timeout=60) as http:
            r = http.post("/v1/chat", json={"message": "孩子出生了要办什么"})
            assert r.status_code == 200, r.text
        assert "rate limits count per worker" not in (tmp_path / "serve.log").read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
