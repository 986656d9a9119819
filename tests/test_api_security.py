"""Citizens' data under attack, over real HTTP: sessions a stranger cannot enter, CORS for the citizen API only,
concurrent edits and double submits, honest health, and the cost bounds of a request."""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest_api import (ROOT, SCENARIO, Server, api_server, base_env, build_test_index,  # noqa: F401
                          id_number, make_corpus, new_session)

pytestmark = pytest.mark.slow

FORM = f"{SCENARIO}-form"
APPLICANT_ID = id_number("37010219880701231")
PHONE = "13805311234"
PORTAL = "https://portal.example.gov.cn"
GOOD = {"applicant_name": "王丽", "applicant_id_number": APPLICANT_ID, "applicant_phone": PHONE,
        "applicant_relation": "母亲", "baby_name": "刘一诺", "baby_gender": "女", "baby_birth_date": "2026-11-20",
        "birth_hospital": "济南市妇幼保健院", "mother_name": "王丽", "mother_id_number": APPLICANT_ID,
        "hukou_follow": "随母", "hukou_address": "山东省济南市历下区泉城路1号"}


@pytest.fixture(scope="module")
def http(api_server):
    with api_server.client() as c:
        yield c


@pytest.fixture(scope="module")
def owner(http):
    """A citizen's session with a personal message in it: its id and the secret only the owner holds."""
    r = http.post("/v1/chat", json={"message": f"孩子出生了要上户口，我叫王丽，身份证{APPLICANT_ID}，电话{PHONE}"})
    assert r.status_code == 200, r.text
    return r.json()["session_id"], {"X-Session-Token": r.headers["x-session-token"]}


# -- sessions -------------------------------------------------------------------------------

def test_a_stranger_holding_only_the_id_gets_nothing(http, owner):
    sid, auth = owner
    assert http.get(f"/v1/sessions/{sid}", headers=auth).status_code == 200
    for headers in ({}, {"X-Session-Token": "guess"}, {"X-Session-Token": new_session(http)[1]["X-Session-Token"]},
                    {"X-API-Key": "not-a-key"}):
        calls = [
            http.get(f"/v1/sessions/{sid}", headers=headers),
            http.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=headers),
            http.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {"applicant_name": "冒名"}}, headers=headers),
            http.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid, "fields": GOOD}, headers=headers),
            http.post("/v1/feedback", json={"session_id": sid, "thumbs": "down"}, headers=headers),
            http.post("/v1/chat", json={"session_id": sid, "message": "我的身份证号是多少"}, headers=headers),
            http.post("/v1/chat/stream", json={"session_id": sid, "message": "我的身份证号是多少"}, headers=headers),
            http.delete(f"/v1/sessions/{sid}", headers=headers),
        ]
        for r in calls:
            assert r.status_code in (403, 404), (r.request.method, r.request.url, r.status_code, r.text[:200])
            assert APPLICANT_ID not in r.text and PHONE not in r.text
    # the owner's session is untouched: no stranger's edit, feedback or message landed
    view = http.get(f"/v1/sessions/{sid}", headers=auth).json()
    assert len(view["messages"]) == 2 and not any(f["fields"] and any(x["value"] == "冒名" for x in f["fields"])
                                                  for f in view["forms"])


def test_a_client_made_id_is_never_adopted(http):
    r = http.post("/v1/chat", json={"session_id": "1", "message": "孩子出生了要办什么"})
    assert r.status_code == 200
    assert r.json()["session_id"] != "1" and len(r.json()["session_id"]) >= 32
    assert r.headers["x-session-token"]
    assert http.get("/v1/sessions/1", headers={"X-Session-Token": r.headers["x-session-token"]}).status_code == 403


def test_ids_and_secrets_never_reach_the_log(http, api_server, owner):
    sid, auth = owner
    http.get(f"/v1/sessions/{sid}", headers=auth)
    http.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=auth)
    log = api_server.log()
    assert auth["X-Session-Token"] not in log
    assert sid not in log


def test_ending_a_session_erases_its_personal_data(http, api_server):
    r = http.post("/v1/chat", json={"message": f"我叫王丽，电话{PHONE}，孩子出生了要上户口"})
    sid, auth = r.json()["session_id"], {"X-Session-Token": r.headers["x-session-token"]}
    http.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {"applicant_phone": PHONE}}, headers=auth)
    assert http.delete(f"/v1/sessions/{sid}", headers=auth).status_code == 204
    assert http.get(f"/v1/sessions/{sid}", headers=auth).status_code == 403  # the secret stopped working
    sql = api_server.sql
    assert sql("select state_enc, token_hash from sessions where id=:s", s=sid) == [(None, None)]
    # the form draft lives in the session state (agent.forms.drafts): erased with it
    assert sql("select state_enc from sessions where id=:s", s=sid) == [(None,)]
    assert {row[0] for row in sql("select text_enc from messages where session_id=:s", s=sid)} == {""}
    # the masked statistics stay
    assert sql("select count(*) from replies where session_id=:s", s=sid) == [(1,)]
    # a new turn with the old id starts a new session
    again = http.post("/v1/chat", json={"session_id": sid, "message": "你好"}, headers=auth)
    assert again.status_code == 200 and again.json()["session_id"] != sid


def test_idle_sessions_expire_and_are_erased(http, api_server):
    from api.runtime import Runtime
    from api.session_access import erase_expired

    sid, auth = new_session(http)
    http.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {"applicant_phone": PHONE}}, headers=auth)
    settings = api_server.settings()
    rt = Runtime(settings)
    try:
        assert http.get(f"/v1/sessions/{sid}", headers=auth).status_code == 200
        # this session went idle longer than the limit (the others stay fresh)
        idle = dt.datetime.utcnow() - dt.timedelta(minutes=settings.api.session_idle_minutes + 1)
        api_server.sql("update sessions set updated_at=:t where id=:s", t=idle, s=sid)
        assert erase_expired(rt) == 1
    finally:
        rt.close()
    assert http.get(f"/v1/sessions/{sid}", headers=auth).status_code == 403
    # the form draft lives in the session state (agent.forms.drafts): erased with it
    assert api_server.sql("select state_enc from sessions where id=:s", s=sid) == [(None,)]


# -- CORS and headers -----------------------------------------------------------------------

def test_the_widget_may_call_the_citizen_api_from_a_portal(http):
    pre = http.options("/v1/chat/stream", headers={"Origin": PORTAL, "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "content-type,x-session-token"})
    assert pre.status_code == 200, pre.text
    assert pre.headers["access-control-allow-origin"] in ("*", PORTAL)
    assert "x-session-token" in pre.headers["access-control-allow-headers"].lower()
    r = http.post("/v1/chat", json={"message": "孩子出生了要办什么"}, headers={"Origin": PORTAL})
    exposed = r.headers["access-control-expose-headers"].lower()
    assert "x-reply-id" in exposed and "x-session-token" in exposed


def test_the_consoles_get_no_cors_and_no_frames(http):
    pre = http.options("/v1/hotline/assist", headers={"Origin": PORTAL, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in pre.headers
    r = http.get("/v1/admin/overview", headers={"Origin": PORTAL})
    assert "access-control-allow-origin" not in r.headers
    for page in ("/hotline", "/admin"):
        h = http.get(page).headers
        assert "frame-ancestors 'none'" in h["content-security-policy"] and h["x-frame-options"] == "DENY"
        assert "script-src 'self'" in h["content-security-policy"]
    home = http.get("/").headers
    assert "frame-ancestors" in home["content-security-policy"] and "x-frame-options" not in home
    assert http.get("/v1/scenarios").headers["x-content-type-options"] == "nosniff"


# -- forms: concurrent edits, double submits, retries ---------------------------------------

def test_forty_concurrent_edits_give_no_error_and_all_land(api_server):
    keys = list(GOOD)
    with api_server.client() as http:
        sid, auth = new_session(http)

        def edit(i: int) -> int:
            key = keys[i % len(keys)]
            with api_server.client() as c:
                return c.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {key: f"{GOOD[key]}"}},
                              headers=auth).status_code

        with cf.ThreadPoolExecutor(max_workers=20) as pool:
            codes = list(pool.map(edit, range(40)))
        assert codes == [200] * 40, codes
        draft = {f["key"]: f["value"] for f in
                 http.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=auth).json()["fields"]}
    for key in keys:  # every field some edit wrote is there: no edit overwrote another's field
        if key in draft:
            assert draft[key] == GOOD[key], key
    assert sum(1 for k in keys if draft.get(k)) >= len(keys) - 2  # fields shown under 情形 conditions may hide


def test_a_double_submit_gives_one_receipt(http, api_server):
    sid, auth = new_session(http)

    def submit(_: int) -> httpx.Response:
        with api_server.client() as c:
            return c.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid, "fields": GOOD}, headers=auth)

    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(submit, range(2))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["receipt_no"] == second.json()["receipt_no"]
    assert api_server.sql("select count(*) from submissions where session_id=:s", s=sid) == [(1,)]
    # a submitted draft is closed to edits
    r = http.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {"baby_name": "改名"}}, headers=auth)
    assert r.status_code == 409 and r.json()["receipt_no"] == first.json()["receipt_no"]


def test_a_retry_with_the_idempotency_key_returns_the_first_receipt(http, api_server):
    sid, auth = new_session(http)
    key = {"Idempotency-Key": "retry-after-a-lost-answer-1", **auth}
    first = http.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid, "fields": GOOD}, headers=key)
    again = http.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid, "fields": GOOD}, headers=key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()


# -- requests that cost or break --------------------------------------------------------------

def test_an_over_long_url_gets_a_json_error(http):
    r = http.get("/v1/search", params={"q": "户" * 3000})
    assert r.status_code == 414 and r.json()["code"] == "uri_too_long"


def test_database_files_are_owner_only(api_server):
    data = Path(api_server.env["DAOBAN_DATA_DIR"])
    files = list(data.glob("daoban.sqlite3*")) + [data / "secret.key"]
    # PostgreSQL: no database file in the data folder (the cluster keeps its own, owned by its user)
    assert bool(list(data.glob("daoban.sqlite3*"))) == (api_server.database_url.startswith("sqlite"))
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """A server with the default-like limits: a small rate limit, failed-key limit and body time limit."""
    tmp = tmp_path_factory.mktemp("strict")
    env = base_env(tmp, make_corpus(tmp / "corpus"), DAOBAN_API__RATE_LIMIT_PER_MINUTE="5",
                   DAOBAN_API__FAILED_KEY_LIMIT_PER_MINUTE="3", DAOBAN_API__BODY_TIMEOUT_S="1")
    server = Server(env=env, log_path=tmp / "server.log").start(wait_ready=False)
    yield server
    server.kill()


def test_a_spoofed_forwarded_for_does_not_escape_the_rate_limit(strict_server):
    with strict_server.client() as http:
        codes = [http.get("/v1/scenarios", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                 for i in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429], codes


def test_wrong_keys_are_limited(strict_server):
    with strict_server.client() as http:
        codes = [http.get("/v1/admin/overview", headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(5)]
    assert codes[:3] == [401] * 3 and 429 in codes[3:], codes


def test_a_stalled_upload_is_cut_off(strict_server):
    with socket.create_connection(("127.0.0.1", strict_server.port), timeout=10) as s:
        s.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 200\r\n\r\n{\"message\": \"")
        t0 = time.monotonic()
        answer = s.recv(4096)
        assert time.monotonic() - t0 < 8
        while b"\r\n\r\n" in answer and b"request_timeout" not in answer:  # the body may come in its own packet
            more = s.recv(4096)
            if not more:
                break
            answer += more
    assert b" 408 " in answer.split(b"\r\n")[0] and b"request_timeout" in answer


def test_readyz_tells_a_deleted_database(tmp_path):
    env = base_env(tmp_path, make_corpus(tmp_path / "corpus"))
    build_test_index(env)
    server = Server(env=env, log_path=tmp_path / "server.log").start()
    try:
        with server.client() as http:
            assert http.get("/readyz").json()["database"] is True
            for f in (tmp_path / "data").glob("daoban.sqlite3*"):
                f.unlink()
            ready = http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["database"] is False
            assert "数据库" in ready.json()["message"]
            for r in (http.post("/v1/chat", json={"message": "孩子出生了要办什么"}), http.post("/v1/sessions", json={})):
                assert r.status_code == 503, r.text
                assert r.json()["code"] == "database_unavailable"
    finally:
        server.kill()


def test_an_unusable_data_folder_is_one_clear_line(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    env = base_env(tmp_path, make_corpus(tmp_path / "corpus"), DAOBAN_DATA_DIR=str(blocker / "data"))
    proc = subprocess.run([sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env", "--port", "0"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "DAOBAN_DATA_DIR" in proc.stderr and "not writable" in proc.stderr
