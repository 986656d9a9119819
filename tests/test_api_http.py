"""Every endpoint over real HTTP against a running uvicorn (real index, real SQLite file), errors included."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest_api import HOTLINE_KEY, SCENARIO, STAFF_KEY, api_server, id_number, new_session  # noqa: F401

pytestmark = pytest.mark.slow

FORM = f"{SCENARIO}-form"
APPLICANT_ID = id_number("11010519900307231")
MOTHER_ID = id_number("37010219920415002")
PHONE = "13912345678"


@pytest.fixture(scope="module")
def http(api_server):
    with api_server.client() as c:
        yield c


@pytest.fixture(scope="module")
def chat_turn(http):
    r = http.post("/v1/chat", json={"message": "新生儿出生一件事怎么办理？孩子刚出生", "channel": "web"})
    assert r.status_code == 200, r.text
    return r


@pytest.fixture(scope="module")
def auth(chat_turn):
    """The secret the server issued with chat_turn's session: every later call on that session sends it."""
    return {"X-Session-Token": chat_turn.headers["x-session-token"]}


# -- health, docs, pages ------------------------------------------------------------------

def test_health_and_ready(http):
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["index"] and ready.json()["model"]


def test_openapi_docs_list_every_endpoint(http):
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    for p in ("/v1/chat", "/v1/chat/stream", "/v1/sessions/{session_id}", "/v1/forms/{form_id}",
              "/v1/forms/{form_id}/submit", "/v1/feedback", "/v1/search", "/v1/scenarios", "/v1/matters/{doc_id}",
              "/v1/stats", "/healthz", "/readyz", "/v1/hotline/assist", "/v1/admin/overview",
              "/v1/admin/sample-questions", "/v1/admin/reindex"):
        assert p in paths, p


@pytest.mark.parametrize("path,ctype,needle", [
    ("/", "text/html", 'src="/widget.js"'), ("/widget.js", "javascript", "/v1/chat/stream"),
    ("/hotline", "text/html", "/static/hotline.js"), ("/admin", "text/html", "/static/admin.js")])
def test_pages_are_served(http, path, ctype, needle):
    r = http.get(path)
    assert r.status_code == 200 and ctype in r.headers["content-type"] and needle in r.text


def test_pages_load_nothing_from_outside():
    static = Path(__file__).resolve().parent.parent / "api" / "static"
    for f in static.iterdir():
        text = f.read_text(encoding="utf-8")
        for bad in ("<link href=\"http", "src=\"http", "src='http", "@import url(http", "fonts.googleapis", "cdn."):
            assert bad not in text, (f.name, bad)


# -- error contract -----------------------------------------------------------------------

@pytest.mark.parametrize("body,status,code", [
    (b"{not json", 422, "invalid_request"),
    (b"", 422, "invalid_request"),
    (b"[]", 422, "invalid_request"),
    (json.dumps({"message": ""}).encode(), 422, "invalid_request"),
    (json.dumps({"message": "你好", "channel": "fax"}).encode(), 422, "invalid_request"),
    (json.dumps({"message": "你好", "session_id": "../etc"}).encode(), 422, "invalid_request"),
    (json.dumps({"message": "你好", "surprise": 1}).encode(), 422, "invalid_request"),
    (json.dumps({"message": "长" * 40_000}).encode(), 413, "payload_too_large"),
])
def test_bad_bodies_get_4xx_json_in_chinese(http, body, status, code):
    for path in ("/v1/chat", "/v1/chat/stream"):
        r = http.post(path, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == status, (path, r.text)
        err = r.json()
        assert err["code"] == code and any("\u4e00" <= ch <= "\u9fff" for ch in err["message"])


def test_oversized_chunked_body_is_refused(http):
    def chunks():
        for _ in range(100):
            yield b"x" * 1000
    r = http.post("/v1/feedback", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_not_found_and_wrong_method_are_json(http):
    r = http.get("/v1/matters/no-such-doc")
    assert r.status_code == 404 and r.json()["code"] == "matter_not_found"
    r = http.get("/v1/chat")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert http.get("/v1/sessions/nosuchsession").json()["code"] == "session_forbidden"


# -- corpus endpoints ---------------------------------------------------------------------

def test_scenarios_and_matters(http):
    scenarios = http.get("/v1/scenarios").json()
    s = next(s for s in scenarios if s["id"] == SCENARIO)
    assert s["form_id"] == FORM and s["member_count"] >= 2 and s["departments"]
    assert http.get("/v1/scenarios", params={"region": "没有这个地区"}).json() == []
    doc = http.get(f"/v1/matters/{SCENARIO}").json()
    assert doc["kind"] == "scenario" and doc["form"]["id"] == FORM
    member = doc["members"][0]["matter"]
    assert http.get(f"/v1/matters/{member}").json()["kind"] == "matter"


def test_guide_page_has_the_cited_sections(http):
    doc = http.get(f"/v1/matters/{SCENARIO}").json()
    member = doc["members"][0]["matter"]
    matter = http.get(f"/v1/matters/{member}").json()
    page = http.get(f"/guide/{member}").text
    assert 'id="steps"' in page and 'id="time_fee"' in page and f'id="situation:{matter["situations"][0]["id"]}:materials"' in page
    assert matter["title"] in page
    assert http.get("/guide/nope").status_code == 404


def test_search(http):
    r = http.get("/v1/search", params={"q": "新生儿出生一件事怎么办", "k": 3})
    hits = r.json()["hits"]
    assert r.status_code == 200 and 1 <= len(hits) <= 3
    assert hits[0]["doc_id"] == SCENARIO and 0 <= hits[0]["score"] <= 1
    only_matters = http.get("/v1/search", params={"q": "出生医学证明", "kind": "matter"}).json()["hits"]
    assert only_matters and all(h["kind"] == "matter" for h in only_matters)
    assert http.get("/v1/search", params={"q": "  "}).status_code == 422
    assert http.get("/v1/search", params={"q": "x", "k": 500}).status_code == 422
    assert http.get("/v1/search").status_code == 422


# -- chat, stream, sessions, feedback -----------------------------------------------------

def test_chat_returns_the_reply_and_records_the_session(http, chat_turn, auth):
    reply = chat_turn.json()
    assert reply["session_id"] and reply["intent"]["name"] and reply["answer"]
    assert reply["route"] and reply["route"]["id"] == SCENARIO
    reply_id = chat_turn.headers["x-reply-id"]
    session = http.get(f"/v1/sessions/{reply['session_id']}", headers=auth).json()
    assert [m["role"] for m in session["messages"]] == ["user", "assistant"]
    assert session["messages"][1]["reply_id"] == reply_id and session["messages"][1]["text"] == reply["answer"]
    assert session["state"]["session_id"] == reply["session_id"]
    assert session["last_reply"]["answer"] == reply["answer"]
    # every citation opens its section on the guide page
    assert reply["citations"]
    for c in reply["citations"]:
        page = http.get(f"/guide/{c['doc_id']}")
        assert page.status_code == 200 and f'id="{c["section"]}"' in page.text, c


def test_stream_sends_tokens_then_the_whole_reply(http, chat_turn, auth):
    sid = chat_turn.json()["session_id"]
    events = []
    with http.stream("POST", "/v1/chat/stream", json={"session_id": sid, "message": "父母都是山东户口"},
                     headers=auth) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                events.append((event, json.loads(line[5:])))
    kinds = [e for e, _ in events]
    assert kinds[-1] == "reply" and kinds.count("reply") == 1 and "error" not in kinds
    final = events[-1][1]
    assert final["reply"]["session_id"] == sid and final["reply_id"]
    assert all(d["type"] == "token" and isinstance(d["text"], str) for e, d in events[:-1])
    assert "x-session-token" not in r.headers  # the secret is issued once, with the session
    session = http.get(f"/v1/sessions/{sid}", headers=auth).json()
    assert len(session["messages"]) >= 4 and session["messages"][-1]["text"] == final["reply"]["answer"]


def test_feedback(http, chat_turn, auth):
    sid, reply_id = chat_turn.json()["session_id"], chat_turn.headers["x-reply-id"]
    r = http.post("/v1/feedback", json={"session_id": sid, "reply_id": reply_id, "thumbs": "down", "resolved": False,
                                        "comment": f"我的电话{PHONE}"}, headers=auth)
    assert r.status_code == 200 and r.json()["reply_id"] == reply_id
    assert http.post("/v1/feedback", json={"session_id": sid, "thumbs": "up"}, headers=auth).status_code == 200
    assert http.post("/v1/feedback", json={"session_id": sid, "reply_id": "0" * 32, "thumbs": "up"},
                     headers=auth).status_code == 404
    assert http.post("/v1/feedback", json={"session_id": "nobody", "thumbs": "up"}, headers=auth).status_code == 403
    assert http.post("/v1/feedback", json={"session_id": sid}, headers=auth).json()["code"] == "empty_feedback"
    assert http.post("/v1/feedback", json={"session_id": sid, "thumbs": "sideways"}, headers=auth).status_code == 422
    # strict booleans: "yes" is not true
    r = http.post("/v1/feedback", json={"session_id": sid, "resolved": "yes"}, headers=auth)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "resolved"


# -- forms ----------------------------------------------------------------------------------

GOOD = {"applicant_name": "张明", "applicant_id_number": APPLICANT_ID, "applicant_phone": PHONE,
        "applicant_relation": "父亲", "baby_name": "张小宝", "baby_gender": "男", "baby_birth_date": "2026-11-02",
        "birth_hospital": "济南市妇幼保健院", "mother_name": "李芳", "mother_id_number": MOTHER_ID,
        "hukou_follow": "随父", "hukou_address": "山东省济南市历下区泉城路1号"}


def test_form_update_validates_inline_and_keeps_the_draft(http):
    sid, auth = new_session(http)
    r = http.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {"applicant_phone": "1391234567",
                                                                           "applicant_name": "张明"}}, headers=auth)
    assert r.status_code == 200, r.text
    fields = {f["key"]: f for f in r.json()["fields"]}
    assert fields["applicant_phone"]["valid"] is False and fields["applicant_phone"]["error"]
    assert fields["applicant_name"]["value"] == "张明" and fields["applicant_name"]["source"] == "user"
    again = http.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=auth).json()
    assert {f["key"]: f["value"] for f in again["fields"]}["applicant_name"] == "张明"
    assert http.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {"shoe_size": "42"}},
                     headers=auth).status_code == 422
    assert http.post("/v1/forms/no-such-form", json={"session_id": sid, "fields": {}}, headers=auth).status_code == 404
    assert http.post(f"/v1/forms/{FORM}", json={"fields": {}}, headers=auth).status_code == 422


def test_submit_refuses_an_invalid_form_field_by_field(http):
    sid, auth = new_session(http)
    bad = dict(GOOD, applicant_id_number=APPLICANT_ID[:-1] + ("0" if APPLICANT_ID[-1] != "0" else "1"),
               baby_gender="", applicant_phone="12345")
    r = http.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid, "fields": bad}, headers=auth)
    assert r.status_code == 422 and r.json()["code"] == "form_invalid"
    keys = {e["key"] for e in r.json()["errors"]}
    assert {"applicant_id_number", "baby_gender", "applicant_phone"} <= keys
    assert "applicant_name" not in keys
    # what was typed is kept for the next try
    kept = {f["key"]: f["value"] for f in http.get(f"/v1/forms/{FORM}", params={"session_id": sid},
                                                  headers=auth).json()["fields"]}
    assert kept["baby_name"] == "张小宝"


def test_submit_returns_a_receipt_and_status_lookup_finds_it(http, api_server):
    sid, auth = new_session(http)
    r = http.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid, "fields": GOOD}, headers=auth)
    assert r.status_code == 200, r.text
    receipt = r.json()
    scenario = http.get(f"/v1/matters/{SCENARIO}").json()
    assert receipt["receipt_no"] and receipt["status"] == "已受理" and receipt["scenario_title"] == scenario["title"]
    assert receipt["departments"][0] == scenario["lead_department"]
    assert set(scenario["departments"]) <= set(receipt["departments"])
    assert receipt["promised_days"] == scenario["time_limit"]["promised_days"]
    assert str(receipt["promised_days"]) in receipt["time_limit"]
    # what was submitted, for the citizen to check: every value given, masked, none in clear
    shown = {v["key"]: v["value"] for v in receipt["values"]}
    assert set(shown) >= set(GOOD) and shown["applicant_relation"] == "父亲"
    assert shown["applicant_phone"] == "139****5678"
    assert shown["applicant_id_number"] == APPLICANT_ID[:3] + "*" * 11 + APPLICANT_ID[-4:]
    assert not any(v in r.text for v in (APPLICANT_ID, MOTHER_ID, PHONE, "张小宝", "泉城路"))
    status = http.get(f"/v1/submissions/{receipt['receipt_no']}").json()
    assert status["receipt_no"] == receipt["receipt_no"] and status["status"] == "已受理"
    assert http.get("/v1/submissions/YJS000").status_code == 404
    # the assistant answers a status question from the same table
    reply = http.post("/v1/chat", json={"message": f"帮我查一下办件进度，受理编号{receipt['receipt_no']}"}).json()
    assert receipt["receipt_no"] in reply["answer"] or "已受理" in reply["answer"]


def test_personal_data_is_encrypted_at_rest_and_masked_in_logs(http, api_server, chat_turn):
    r = http.post("/v1/chat", json={"message": f"我叫张明，身份证{APPLICANT_ID}，电话{PHONE}，孩子出生了要上户口"})
    sid = r.json()["session_id"]
    other, auth = new_session(http)
    http.post(f"/v1/forms/{FORM}/submit", json={"session_id": other, "fields": GOOD}, headers=auth)
    data_dir = Path(api_server.env["DAOBAN_DATA_DIR"])
    raw = b"".join(p.read_bytes() for p in data_dir.glob("daoban.sqlite3*"))  # SQLite: the files themselves
    stored = api_server.all_text()  # either database: every value it holds
    assert sid in stored
    for secret in (APPLICANT_ID, MOTHER_ID, PHONE):
        assert secret.encode() not in raw and secret not in stored, secret
    masked = [row[0] for row in api_server.sql("select question_masked from replies where session_id=:s", s=sid)]
    assert masked and APPLICANT_ID not in masked[0] and "****" in masked[0]
    http.get("/v1/search", params={"q": f"电话{PHONE}"})
    log = api_server.log()
    assert PHONE not in log and APPLICANT_ID not in log


# -- roles ----------------------------------------------------------------------------------

def test_hotline_and_admin_need_the_right_key(http):
    body = {"message": "孩子出生了要办什么"}
    assert http.post("/v1/hotline/assist", json=body).status_code == 401
    assert http.post("/v1/hotline/assist", json=body, headers={"X-API-Key": "wrong"}).status_code == 401
    assert http.get("/v1/admin/overview", headers={"X-API-Key": HOTLINE_KEY}).status_code == 403
    assert http.get("/v1/admin/overview", headers={"X-API-Key": HOTLINE_KEY}).json()["code"] == "forbidden"
    assert http.get("/v1/admin/overview").status_code == 401
    assert http.post("/v1/admin/reindex", headers={"X-API-Key": HOTLINE_KEY}).status_code == 403


def test_hotline_assist_gives_answer_card_and_transcript(http):
    key = {"X-API-Key": HOTLINE_KEY}
    r = http.post("/v1/hotline/assist", json={"message": "我家孩子上周出生了，新生儿出生一件事怎么办"}, headers=key)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reply"]["answer"] and body["card"]["doc_id"] == body["reply"]["route"]["id"] == SCENARIO
    card = body["card"]
    assert card["materials"] and any(m["exempt"] for m in card["materials"])
    assert card["transfer"]["department"] and card["transfer"]["phone"] and card["time_limit"] and card["key_points"]
    assert [m["role"] for m in body["transcript"]] == ["user", "assistant"]
    sid = body["reply"]["session_id"]
    second = http.post("/v1/hotline/assist", json={"session_id": sid, "message": "妈妈是职工医保"}, headers=key).json()
    assert len(second["transcript"]) == 4
    assert http.get(f"/v1/hotline/sessions/{sid}", headers=key).json()["channel"] == "hotline"


def test_admin_overview_groups_problem_questions(http, chat_turn):
    staff = {"X-API-Key": STAFF_KEY}
    http.post("/v1/chat", json={"message": "我家的猫走丢了能帮忙找吗"})
    o = http.get("/v1/admin/overview", headers=staff).json()
    assert o["issue_total"] >= 1 and o["top_questions"]
    topics = {g["topic"]: g for g in o["issue_groups"]}
    routed = chat_turn.json()["route"]["title"]
    assert routed in topics and "未解决" in topics[routed]["reasons"]  # the thumbs-down/unresolved turn
    assert len(topics[routed]["trend"]) == len(o["days"]) and topics[routed]["trend"][-1]["count"] >= 1
    assert any(d["doc_id"] == SCENARIO for d in o["doc_hits"])
    assert o["validation"]["ok"] is True and o["corpus"]["scenarios"] == 1
    docs = http.get("/v1/admin/documents", headers=staff).json()
    assert any(d["doc_id"] == SCENARIO for d in docs)


def test_admin_sample_question_errors_leave_the_corpus_alone(http, api_server):
    staff = {"X-API-Key": STAFF_KEY}
    corpus_file = Path(api_server.env["DAOBAN_CORPUS_DIR"]) / "shandong" / "scenarios" / f"{SCENARIO}.yaml"
    before = corpus_file.read_text(encoding="utf-8")
    r = http.post("/v1/admin/sample-questions", json={"doc_id": "nope", "question": "随便问问"}, headers=staff)
    assert r.status_code == 404
    doc = http.get(f"/v1/matters/{SCENARIO}").json()
    dup = doc["sample_questions"][0]
    r = http.post("/v1/admin/sample-questions", json={"doc_id": doc["members"][0]["matter"], "question": dup},
                  headers=staff)
    assert r.status_code == 422 and r.json()["code"] == "edit_rejected" and r.json()["problems"]
    assert http.post("/v1/admin/sample-questions", json={"doc_id": SCENARIO, "question": ""}, headers=staff).status_code == 422
    assert corpus_file.read_text(encoding="utf-8") == before


def test_stats(http, chat_turn):
    s = http.get("/v1/stats").json()
    assert s["questions"] >= 2 and s["sessions"] >= 1 and s["submissions"] >= 1
    assert s["feedback"]["down"] >= 1 and s["feedback"]["unresolved"] >= 1
    assert s["latency_ms"]["p95"] is not None and 0 <= s["fallback_rate"] <= 1
    assert sum(s["by_intent"].values()) == s["questions"]
