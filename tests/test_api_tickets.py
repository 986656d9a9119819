"""好差评 and tickets (工单) over real HTTP on a real server (SQLite and PostgreSQL): a rating and a ticket through
their whole lifecycle, the roles, masking, the chat's 工单查询, the hotline's ticket from a call, the CSV export;
and, on a server of their own, a restart that keeps them and an overdue ticket flagged."""
from __future__ import annotations

import csv
import io
import time

import pytest

from api.quality import DATA_PATH, QualityVocabulary, _check, add_working_days, normalize_ticket_no, vocabulary
from conftest_api import HOTLINE_KEY, STAFF_KEY, Server, api_server, base_env, build_test_index, make_corpus  # noqa: F401
from conftest_api import id_number, new_session
from corpus.datafile import DataFileError, load_data_file

pytestmark = pytest.mark.slow

PHONE = "13912345678"
ID_NO = id_number("37010219920415002")
STAFF = {"X-API-Key": STAFF_KEY}
HOTLINE = {"X-API-Key": HOTLINE_KEY}


@pytest.fixture(scope="module")
def http(api_server):
    with api_server.client() as c:
        yield c


def consult(http, message="新生儿出生一件事怎么办理？孩子刚出生", session=None):
    body = {"message": message, "channel": "web", **({"session_id": session[0]} if session else {})}
    r = http.post("/v1/chat", json=body, headers=session[1] if session else {})
    assert r.status_code == 200, r.text
    if session:
        return session, r
    return (r.json()["session_id"], {"X-Session-Token": r.headers["x-session-token"]}), r


# -- the vocabulary is data, checked ---------------------------------------------------------------------------

def test_vocabulary_is_checked_with_its_line(tmp_path):
    v = vocabulary()
    assert [lv.label for lv in v.rating_levels] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    bad = tmp_path / "q.yaml"
    text = DATA_PATH.read_text(encoding="utf-8")
    bad.write_text(text.replace("next: [processing, assigned]", "next: [procesing, assigned]"), encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_data_file(bad, QualityVocabulary, check=_check)
    line = next(i for i, t in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "procesing" in t)
    assert f"q.yaml:{line}:" in str(err.value) and "procesing" in str(err.value)


def test_working_days_skip_the_national_day_holiday():
    import datetime as dt
    # 2026-09-30 10:00 Beijing: the next working day is 10-08 (10-01..10-07 off); a Friday goes to Monday
    assert add_working_days(dt.datetime(2026, 9, 30, 2), 1) == dt.datetime(2026, 10, 8, 2)
    assert add_working_days(dt.datetime(2026, 12, 4, 2), 1) == dt.datetime(2026, 12, 7, 2)
    assert normalize_ticket_no("gd20261203 23456789ab") == "GD20261203-23456789AB"


# -- 好差评 ------------------------------------------------------------------------------------------------------

def test_rating_an_answer_good_and_bad_the_bad_one_opens_a_ticket(http, api_server):
    session, r = consult(http)
    sid, auth = session
    reply_id = r.headers["x-reply-id"]
    good = http.post("/v1/ratings", json={"session_id": sid, "level": "satisfied", "reasons": ["clear_guide"]},
                     headers=auth)
    assert good.status_code == 201, good.text
    assert good.json()["ticket_no"] is None and good.json()["service_title"] == "新生儿出生一件事"
    # a 差评 needs a reason from the standard list, and only the bad ones
    no_reason = http.post("/v1/ratings", json={"session_id": sid, "level": "very_dissatisfied"}, headers=auth)
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "reason_needed"
    wrong = http.post("/v1/ratings", json={"session_id": sid, "level": "very_dissatisfied", "reasons": ["fast"]},
                      headers=auth)
    assert wrong.status_code == 422 and "unclear_guide" in wrong.json()["allowed"]
    unknown = http.post("/v1/ratings", json={"session_id": sid, "level": "great"}, headers=auth)
    assert unknown.status_code == 422 and "非常满意" in unknown.json()["message"]
    other, _ = new_session(http)
    assert http.post("/v1/ratings", json={"session_id": other, "level": "satisfied"}, headers=auth).status_code == 403
    bad = http.post("/v1/ratings", json={"session_id": sid, "reply_id": reply_id, "level": "very_dissatisfied",
                                         "reasons": ["too_many_materials", "other"],
                                         "comment": f"材料太多了，我的电话{PHONE}，身份证{ID_NO}"}, headers=auth)
    assert bad.status_code == 201, bad.text
    ticket_no = bad.json()["ticket_no"]
    assert ticket_no and bad.json()["level_label"] == "非常不满意"
    # the 整改 ticket is the citizen's to follow and staff's to handle
    mine = http.get(f"/v1/tickets/{ticket_no}", params={"session_id": sid}, headers=auth)
    assert mine.status_code == 200 and mine.json()["kind_label"] == "差评整改" and mine.json()["status_label"] == "收到"
    staff = http.get(f"/v1/admin/tickets/{ticket_no}", headers=STAFF).json()
    assert "材料繁多" in staff["description"] and PHONE not in staff["description"] and ID_NO not in staff["description"]
    assert staff["department"] and staff["service_title"] == "新生儿出生一件事"
    # nothing personal in clear in any table
    dump = api_server.all_text()
    assert PHONE not in dump and ID_NO not in dump
    # mining: the 差评 joins the service's group of problems in the content console, linked to its ticket
    groups = http.get("/v1/admin/overview", headers=STAFF).json()["issue_groups"]
    group = next(g for g in groups if g["doc_id"] == "newborn-birth")
    assert group["reasons"]["工单·差评整改"] >= 1
    assert any(q["ticket_no"] == ticket_no for q in group["questions"])
    figures = http.get("/v1/admin/ratings", headers=STAFF, params={"days": 7}).json()
    service = next(g for g in figures["by_service"] if g["key"] == "newborn-birth")
    assert service["count"] >= 2 and service["bad"] >= 1 and service["levels"]["非常不满意"] >= 1
    assert service["trend"][-1]["count"] >= 2 and figures["trend"][-1]["count"] >= 2
    assert any(g["title"] == staff["department"] for g in figures["by_department"])
    assert {"材料繁多、重复提交", "其他"} <= {x["reason"] for x in figures["bad_reasons"]}
    assert http.get("/v1/admin/ratings", headers=HOTLINE).status_code == 403


def test_rating_a_submission_and_a_hotline_call(http):
    from test_api_http import GOOD, FORM  # the same valid form values the forms tests submit

    session, _ = consult(http, "我要办新生儿出生一件事")
    sid, auth = session
    r = http.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": GOOD}, headers=auth)
    assert r.status_code == 200, r.text
    receipt = http.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid}, headers=auth)
    assert receipt.status_code == 200, receipt.text
    no = receipt.json()["receipt_no"]
    ok = http.post("/v1/ratings", json={"session_id": sid, "target": "submission", "receipt_no": no,
                                        "level": "very_satisfied", "reasons": ["fewer_trips"]}, headers=auth)
    assert ok.status_code == 201 and ok.json()["service_title"] == "新生儿出生一件事"
    other = new_session(http)
    assert http.post("/v1/ratings", json={"session_id": other[0], "target": "submission", "receipt_no": no,
                                          "level": "satisfied"}, headers=other[1]).status_code == 404
    call = http.post("/v1/hotline/assist", json={"message": "孩子出生了要办哪些手续"}, headers=HOTLINE).json()
    rated = http.post("/v1/hotline/ratings", json={"session_id": call["reply"]["session_id"], "level": "dissatisfied",
                                                   "reasons": ["too_many_trips"]}, headers=HOTLINE)
    assert rated.status_code == 201 and rated.json()["ticket_no"]
    assert http.post("/v1/hotline/ratings", json={"session_id": sid, "level": "basic"}).status_code == 401


# -- tickets ------------------------------------------------------------------------------------------------------

def test_ticket_from_complaint_to_revisit(http, api_server):
    session, r = consult(http, "我要投诉，窗口让我跑了三次还没办成新生儿落户")
    sid, auth = session
    assert r.json()["intent"]["name"] == "complaint" and "工单" in r.json()["answer"]
    body = {"session_id": sid, "kind": "cannot_do", "service_id": "newborn-birth",
            "description": f"跑了三次没办成，我身份证{ID_NO}", "contact": "139 1234 5678"}
    refused = http.post("/v1/tickets", json=body, headers=auth)
    assert refused.status_code == 422 and refused.json()["code"] == "consent_needed"
    created = http.post("/v1/tickets", json={**body, "consent": True}, headers=auth)
    assert created.status_code == 201, created.text
    t = created.json()
    no = t["ticket_no"]
    assert t["status_label"] == "收到" and not t["overdue"] and t["due_at"] > t["created_at"]
    assert "description" not in t and "contact" not in t  # the citizen's view carries neither
    stored = api_server.sql("SELECT description_masked, contact_enc, contact_mac FROM tickets WHERE ticket_no = :n", n=no)
    assert ID_NO not in stored[0][0] and "1391234" not in stored[0][1] + stored[0][2]

    # lifecycle, checked: no 办结 before 分派
    move = lambda to, **kw: http.post(f"/v1/admin/tickets/{no}/transitions", json={"to": to, **kw}, headers=STAFF)  # noqa: E731
    early = move("closed")
    assert early.status_code == 409 and early.json()["allowed"] == ["assigned"] and "分派" in early.json()["message"]
    assert move("assigned").json()["code"] == "assignee_needed"
    assigned = move("assigned", assignee="卫健委 王科长", note=f"请回电{PHONE}").json()
    assert assigned["status_label"] == "分派" and assigned["first_response_at"] and not assigned["overdue"]
    assert assigned["events"][-1]["note"] and PHONE not in assigned["events"][-1]["note"]
    assert {s["id"] for s in assigned["next_states"]} == {"processing", "assigned"}
    assert move("processing").status_code == 200
    closed = move("closed", note="已协调窗口一次办结").json()
    assert closed["closed_at"] and closed["status_label"] == "办结"
    done = move("revisited", note="回访满意").json()
    assert done["next_states"] == []
    assert move("assigned", assignee="x").status_code == 409
    assert [h["label"] for h in done["history"]] == ["收到", "分派", "处理中", "办结", "回访"]
    assert done["contact"] == "13912345678"  # staff call back: consented, decrypted for them only

    # the citizen follows it: own session, or number + contact; one answer for a wrong number or contact
    mine = http.get(f"/v1/tickets/{no.lower().replace('-', '')}", params={"session_id": sid}, headers=auth)
    assert mine.status_code == 200 and mine.json()["status_label"] == "回访" and "events" not in mine.json()
    other = new_session(http)
    assert http.get(f"/v1/tickets/{no}", params={"session_id": other[0]}, headers=other[1]).status_code == 404
    assert http.get(f"/v1/tickets/{no}", params={"session_id": sid}).status_code == 403
    found = http.post("/v1/tickets/lookup", json={"ticket_no": no, "contact": "+86 139-1234-5678"})
    assert found.status_code == 200 and found.json()["ticket_no"] == no
    wrong_contact = http.post("/v1/tickets/lookup", json={"ticket_no": no, "contact": "13900000000"})
    wrong_number = http.post("/v1/tickets/lookup", json={"ticket_no": no[:-1] + ("A" if no[-1] != "A" else "B"),
                                                         "contact": "13912345678"})
    assert wrong_contact.status_code == wrong_number.status_code == 404
    assert wrong_contact.json() == wrong_number.json()


def test_chat_answers_a_ticket_only_to_its_owner(http):
    session, _ = consult(http, "我要投诉办事窗口")
    sid, auth = session
    no = http.post("/v1/tickets", json={"session_id": sid, "kind": "complaint", "description": "窗口态度差",
                                        "contact": PHONE, "consent": True}, headers=auth).json()["ticket_no"]
    _, mine = consult(http, f"查工单 {no}", session)
    assert "工单号 " + no in mine.json()["answer"] and "收到" in mine.json()["answer"]
    stranger, theirs = consult(http, f"查工单 {no}")
    assert no in theirs.json()["answer"] and "收到" not in theirs.json()["answer"] and "没有查到" in theirs.json()["answer"]
    _, with_contact = consult(http, f"查工单 {no}，我的电话{PHONE}", stranger)
    assert "收到" in with_contact.json()["answer"]


def test_hotline_ticket_from_a_call_and_the_staff_list_and_csv(http):
    call = http.post("/v1/hotline/assist", json={"message": "来电人反映新生儿出生一件事网上办不了，系统一直报错"},
                     headers=HOTLINE).json()
    sid = call["reply"]["session_id"]
    draft = http.get(f"/v1/hotline/sessions/{sid}/ticket-draft", headers=HOTLINE)
    assert draft.status_code == 200, draft.text
    d = draft.json()
    assert d["service_id"] == "newborn-birth" and d["department"] and "系统一直报错" in d["points"][0]
    bad_kind = http.post("/v1/hotline/tickets", json={"session_id": sid, "kind": "bad_rating", "points": ["x"]},
                         headers=HOTLINE)
    assert bad_kind.status_code == 422
    made = http.post("/v1/hotline/tickets", json={"session_id": sid, "kind": "cannot_do", "service_id": d["service_id"],
                                                  "department": d["department"], "points": d["points"] + ["来电人要求回电"],
                                                  "contact": PHONE, "consent": True}, headers=HOTLINE)
    assert made.status_code == 201, made.text
    t = made.json()
    assert t["channel"] == "hotline" and t["points"][-1] == "来电人要求回电" and t["kind_label"] == "办不成事"
    assert http.get("/v1/admin/tickets", headers=HOTLINE).status_code == 403
    page = http.get("/v1/admin/tickets", params={"kind": "cannot_do", "status": "received", "service": "新生儿"},
                    headers=STAFF).json()
    assert t["ticket_no"] in [i["ticket_no"] for i in page["items"]]
    assert all(i["kind"] == "cannot_do" and i["status"] == "received" for i in page["items"])
    assert page["counts"]["收到"] >= 1 and set(page["counts"]) == {"收到", "分派", "处理中", "办结", "回访"}
    assert http.get("/v1/admin/tickets", params={"overdue": True}, headers=STAFF).json()["total"] == 0
    export = http.get("/v1/admin/tickets/export.csv", params={"kind": "cannot_do"}, headers=STAFF)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert rows[0][0] == "工单号" and len(rows[0]) == 15
    row = next(r for r in rows[1:] if r[0] == t["ticket_no"])
    assert row[1] == "办不成事" and row[2] == "12345热线" and row[7] == "收到" and row[-1] == ""
    with_contact = http.get("/v1/admin/tickets/export.csv", params={"kind": "cannot_do", "contact": True}, headers=STAFF)
    assert PHONE in with_contact.text


# -- a server of its own: restart, overdue, the lookup's rate limit ---------------------------------------------------

@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_tickets_and_ratings_survive_a_restart_and_overdue_is_flagged(tmp_path_factory, request, database):
    tmp = tmp_path_factory.mktemp("tickets-restart")
    env = base_env(tmp, make_corpus(tmp / "corpus"), DAOBAN_API__TICKET_FIRST_RESPONSE_SECONDS="1",
                   DAOBAN_API__TICKET_LOOKUP_PER_MINUTE="3")
    if database == "postgresql":
        env["DAOBAN_API__DATABASE_URL"] = request.getfixturevalue("postgres").new_database("tickets")
    build_test_index(env)
    server = Server(env=env, log_path=tmp / "server.log").start()
    try:
        with server.client() as http:
            session, _ = consult(http)
            rating = http.post("/v1/ratings", json={"session_id": session[0], "level": "dissatisfied",
                                                    "reasons": ["unclear_guide"]}, headers=session[1]).json()
            no = rating["ticket_no"]
            time.sleep(1.2)  # the configured 1 s first-response limit passes
            late = http.get("/v1/admin/tickets", params={"overdue": True}, headers=STAFF).json()
            assert late["overdue"] == 1 and late["items"][0]["ticket_no"] == no and late["items"][0]["overdue"]
            # tries by number + contact are limited (per client and per number), found or not
            codes = [http.post("/v1/tickets/lookup", json={"ticket_no": no, "contact": "13900000000"}).status_code
                     for _ in range(4)]
            assert codes == [404, 404, 404, 429]
        server.kill()
        server.start(wait_ready=False)
        with server.client() as http:
            kept = http.get(f"/v1/admin/tickets/{no}", headers=STAFF)
            assert kept.status_code == 200 and kept.json()["overdue"] and kept.json()["kind"] == "bad_rating"
            figures = http.get("/v1/admin/ratings", headers=STAFF).json()
            assert figures["total"] == 1 and figures["levels"][3]["count"] == 1
            moved = http.post(f"/v1/admin/tickets/{no}/transitions", json={"to": "assigned", "assignee": "科室A"},
                              headers=STAFF).json()
            assert not moved["overdue"] and moved["late"]  # answered, but after the limit
            assert http.get("/v1/admin/tickets", params={"overdue": True}, headers=STAFF).json()["total"] == 0
    finally:
        server.kill()
