"""免填写 / 免提交 over real HTTP: a real uvicorn with the demo licence platform (licences.provider = demo) on the
small test corpus and its real index. A session attaches the identity its login signed for the session's nonce;
its forms are filled from the licences and marked; forged, expired and replayed assertions change nothing; only
the session's secret reads the identity; erasure and the logs keep nothing of it."""
from __future__ import annotations

import base64
import json

import httpx
import pytest
import yaml

from conftest_api import (FORM_MATTER, HOTLINE_KEY, SRC_CORPUS, Server, base_env, build_test_index,  # noqa: F401
                          id_number, make_corpus, new_session)

from agent.forms.licences import DemoLicences, VerifiedIdentity
from conftest_api import ROOT

pytestmark = pytest.mark.slow

DEMO_KEY = b"daoban-demo-licence-key"
RECORDS = ROOT / "agent/data/demo/licences.json"
ZHOU = VerifiedIdentity(id_number="370102198506123410", name="周明远")
FATHER_ID = id_number("37010219580415003")
FORM = yaml.safe_load((SRC_CORPUS / "matters" / f"{FORM_MATTER}.yaml").read_text(encoding="utf-8"))["form"]["id"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-licences")
    env = base_env(tmp, make_corpus(tmp / "corpus"), DAOBAN_LICENCES__PROVIDER="demo", DAOBAN_API__LOG_FORMAT="text")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    build_test_index(env)
    # started as an operator does (daoban serve): its own logging, whose lines the last test reads
    srv = Server(env=env, log_path=tmp / "server.log", serve_args=[]).start()
    yield srv
    srv.kill()


@pytest.fixture(scope="module")
def http(server):
    with server.client() as c:
        yield c


def _nonce(http, sid: str, auth: dict) -> str:
    r = http.post(f"/v1/sessions/{sid}/identity/nonce", headers=auth)
    assert r.status_code == 200, r.text
    return r.json()["nonce"]


def _login(http, name: str, nonce: str) -> str:
    """The demo platform's login: an assertion for that person, signed for the session's nonce."""
    people = http.get("/v1/licences/demo/people").json()
    person = next(p["index"] for p in people if p["name"] == name)
    r = http.post("/v1/licences/demo/login", json={"person": person, "nonce": nonce})
    assert r.status_code == 200, r.text
    return r.json()["assertion"]


def _signed_in(http, name: str = ZHOU.name) -> tuple[str, dict, str]:
    sid, auth = new_session(http)
    assertion = _login(http, name, _nonce(http, sid, auth))
    r = http.post(f"/v1/sessions/{sid}/identity", json={"assertion": assertion}, headers=auth)
    assert r.status_code == 200, r.text
    return sid, auth, assertion


def _chat(http, sid: str, auth: dict, message: str) -> dict:
    r = http.post("/v1/chat", json={"session_id": sid, "message": message}, headers=auth)
    assert r.status_code == 200, r.text
    return r.json()


def _fields(form: dict) -> dict[str, dict]:
    return {f["key"]: f for f in form["fields"]}


def test_the_platform_is_announced(http):
    assert http.get("/v1/licences").json() == {"enabled": True, "demo": True}


def test_an_attached_identity_fills_and_marks_the_certified_fields(http):
    sid, auth, _ = _signed_in(http)
    view = http.get(f"/v1/sessions/{sid}/identity", headers=auth).json()
    assert view["name_masked"] == "周**" and view["id_number_masked"] == "370***********3410"
    assert set(view["licences"]) == {"居民身份证", "户口簿", "营业执照", "账户常用信息"}
    reply = _chat(http, sid, auth, "我要申请居民身份证换领，电话13912345678")
    assert reply["route"]["id"] == FORM_MATTER
    got = _fields(reply["form"])
    assert got["subject_id_number"]["value"] == ZHOU.id_number
    assert got["subject_id_number"]["source"] == "e_license" and got["subject_id_number"]["licence"] == "居民身份证"
    assert got["subject_name"]["value"] == ZHOU.name and got["subject_name"]["source"] == "e_license"
    assert got["subject_phone"]["source"] == "conversation"  # no licence certifies a phone
    assert "subject_id_number" not in reply["form"]["missing"] and "subject_name" not in reply["form"]["missing"]
    # 免提交: the materials naming the licence behind a certified field (住址 from the 户口簿), not the old card itself
    assert got["hukou_address"]["source"] == "e_license"
    assert "居民户口簿" in reply["form"]["exempt_materials"]
    assert not any("原居民身份证" in m for m in reply["form"]["exempt_materials"])
    assert "电子证照" in reply["answer"]
    # read back: the same draft, the same marks; the pre-review takes the certified values as verified
    form = http.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=auth).json()
    assert _fields(form)["subject_id_number"]["source"] == "e_license"
    review = http.get(f"/v1/forms/{FORM}/review", params={"session_id": sid}, headers=auth).json()
    assert {"subject_id_number", "subject_name"} <= set(review["certified"])
    assert not any(i["key"] in ("subject_id_number", "subject_name") for i in review["items"])


def test_a_form_read_before_any_chat_is_filled_too(http):
    sid, auth, _ = _signed_in(http)
    form = http.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=auth).json()
    assert _fields(form)["subject_id_number"]["value"] == ZHOU.id_number


def test_the_licence_wins_and_a_different_conversation_value_is_reported(http):
    sid, auth, _ = _signed_in(http)
    reply = _chat(http, sid, auth, "我要申请居民身份证换领，我叫周明原，电话13912345678")
    got = _fields(reply["form"])
    assert got["subject_name"]["value"] == ZHOU.name and got["subject_name"]["source"] == "e_license"
    conflicts = {c["key"]: c for c in reply["form"]["conflicts"]}
    assert conflicts["subject_name"]["said"] == "周明原" and "居民身份证" in conflicts["subject_name"]["message"]
    assert "不一致" in reply["answer"]


def test_for_someone_else_the_speaker_fills_the_agent_fields_never_the_subjects(http):
    sid, auth, _ = _signed_in(http)
    reply = _chat(http, sid, auth, f"帮我爸办居民身份证换领，他叫周大山，身份证{FATHER_ID}")
    got = _fields(reply["form"])
    assert got["applies_for"]["value"] == "代他人办理"
    assert got["subject_id_number"]["value"] == FATHER_ID and got["subject_id_number"]["source"] == "conversation"
    assert got["subject_name"]["value"] == "周大山"
    assert got["agent_id_number"]["value"] == ZHOU.id_number and got["agent_id_number"]["source"] == "e_license"
    assert got["agent_name"]["value"] == ZHOU.name
    assert not reply["form"]["exempt_materials"], "the speaker's licence covers none of the father's materials"


def test_an_edit_takes_a_field_over_and_the_mark_goes(http):
    sid, auth, _ = _signed_in(http)
    _chat(http, sid, auth, "我要申请居民身份证换领")
    r = http.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {"subject_name": "周明远甲"}}, headers=auth)
    assert r.status_code == 200, r.text
    assert _fields(r.json())["subject_name"] | {} == {**_fields(r.json())["subject_name"], "value": "周明远甲",
                                                       "source": "user", "licence": None}
    r = http.post(f"/v1/forms/{FORM}", json={"session_id": sid, "fields": {"subject_name": ""}}, headers=auth)
    assert _fields(r.json())["subject_name"]["value"] is None
    again = http.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=auth).json()
    assert _fields(again)["subject_name"]["value"] is None, "a cleared certified field is not filled again"
    assert _fields(again)["subject_id_number"]["source"] == "e_license"  # the others keep their mark


def test_the_submission_records_the_certified_fields(http):
    sid, auth, _ = _signed_in(http)
    reply = _chat(http, sid, auth, "我要申请居民身份证换领，电话13912345678，民族汉族，有效期满换领，窗口领取")
    fields = {f["key"]: f["value"] for f in reply["form"]["fields"] if f["value"]}
    fields.update({"ethnicity": "汉", "situation": "有效期满换领（含到期前3个月内）", "delivery": "窗口领取",
                   "applies_for": "本人办理"})
    r = http.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid, "fields": fields}, headers=auth)
    assert r.status_code == 200, r.text
    assert {"subject_id_number", "subject_name"} <= set(r.json()["review"]["certified"])


def test_forged_expired_and_replayed_assertions_change_nothing(http, server):
    sid, auth = new_session(http)
    nonce = _nonce(http, sid, auth)
    good = _login(http, ZHOU.name, nonce)
    body, _, signature = good.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    other = base64.urlsafe_b64encode(json.dumps({**payload, "name": "冒名者"}).encode()).decode().rstrip("=")
    demo = DemoLicences(DEMO_KEY, RECORDS)
    for bad, code in [(f"{other}.{signature}", "assertion_invalid"),                       # forged
                      (DemoLicences(b"not-the-key", RECORDS).assertion(ZHOU, nonce=nonce), "assertion_invalid"),
                      (demo.assertion(ZHOU, ttl_s=-5, nonce=nonce), "assertion_invalid"),  # expired
                      (demo.assertion(ZHOU), "assertion_not_for_session"),                 # no nonce
                      (demo.assertion(ZHOU, nonce="another-sessions-nonce"), "assertion_not_for_session"),
                      ("garbage", "assertion_invalid")]:
        r = http.post(f"/v1/sessions/{sid}/identity", json={"assertion": bad}, headers=auth)
        assert r.status_code in (409, 422) and r.json()["code"] == code, (bad[:20], r.text)
        assert http.get(f"/v1/sessions/{sid}/identity", headers=auth).status_code == 404
    # the good one still works once, then is spent; nor does it work in another session
    assert http.post(f"/v1/sessions/{sid}/identity", json={"assertion": good}, headers=auth).status_code == 200
    r = http.post(f"/v1/sessions/{sid}/identity", json={"assertion": good}, headers=auth)
    assert r.status_code == 409 and r.json()["code"] == "assertion_not_for_session"
    other_sid, other_auth = new_session(http)
    _nonce(http, other_sid, other_auth)
    r = http.post(f"/v1/sessions/{other_sid}/identity", json={"assertion": good}, headers=other_auth)
    assert r.status_code == 409
    assert http.get(f"/v1/sessions/{other_sid}/identity", headers=other_auth).status_code == 404
    # another person cannot take over a signed-in session
    r = http.post(f"/v1/sessions/{sid}/identity", json={"assertion": _login(http, "孙晓雯", _nonce(http, sid, auth))},
                  headers=auth)
    assert r.status_code == 409 and r.json()["code"] == "identity_already_attached"
    assert http.get(f"/v1/sessions/{sid}/identity", headers=auth).json()["name_masked"] == "周**"


def test_only_the_sessions_secret_reads_the_identity(http):
    sid, auth, _ = _signed_in(http)
    _, stranger = new_session(http)
    for headers in ({}, stranger, {"X-API-Key": HOTLINE_KEY}):
        for call in (lambda: http.get(f"/v1/sessions/{sid}/identity", headers=headers),
                     lambda: http.post(f"/v1/sessions/{sid}/identity/nonce", headers=headers),
                     lambda: http.delete(f"/v1/sessions/{sid}/identity", headers=headers)):
            r = call()
            assert r.status_code == 403 and ZHOU.id_number not in r.text, r.text
    # the hotline reads the session (its key keeps that access) without the identity; the owner sees it masked
    _chat(http, sid, auth, "我要申请居民身份证换领")
    hotline = http.get(f"/v1/sessions/{sid}", headers={"X-API-Key": HOTLINE_KEY}).json()
    assert hotline["identity"] is None and "identity" not in (hotline["state"] or {})
    assert hotline["forms"] and ZHOU.id_number not in json.dumps(hotline), "certified values tell who signed in"
    assert _fields(hotline["forms"][0])["subject_id_number"]["value"] == "370***********3410"
    own = http.get(f"/v1/sessions/{sid}", headers=auth).json()
    assert own["identity"]["id_number_masked"] == "370***********3410"
    assert ZHOU.id_number not in json.dumps(own["identity"]) and "identity" not in (own["state"] or {})


def test_signing_out_and_erasure_remove_the_identity(http, server):
    sid, auth, _ = _signed_in(http)
    _chat(http, sid, auth, "我要申请居民身份证换领")
    assert http.delete(f"/v1/sessions/{sid}/identity", headers=auth).status_code == 204
    assert http.get(f"/v1/sessions/{sid}/identity", headers=auth).status_code == 404
    form = http.get(f"/v1/forms/{FORM}", params={"session_id": sid}, headers=auth).json()
    assert not any(f["source"] == "e_license" for f in form["fields"])
    assert ZHOU.id_number not in json.dumps(form), "signing out takes the certified values with it"

    sid, auth, _ = _signed_in(http)
    state_enc = server.sql("SELECT state_enc FROM sessions WHERE id = :id", id=sid)[0][0]
    assert state_enc and ZHOU.id_number not in state_enc and ZHOU.name not in state_enc  # encrypted
    assert http.delete(f"/v1/sessions/{sid}", headers=auth).status_code == 204
    assert server.sql("SELECT state_enc FROM sessions WHERE id = :id", id=sid) == [(None,)]
    assert http.get(f"/v1/sessions/{sid}/identity", headers=auth).status_code == 403


def test_nothing_of_an_identity_reaches_the_database_in_clear_or_the_log(http, server):
    sid, auth, assertion = _signed_in(http)
    _chat(http, sid, auth, "我要申请居民身份证换领")
    stored, log = server.all_text(), server.log()
    for secret in (ZHOU.id_number, ZHOU.name, assertion, assertion.partition(".")[0], "泉城路88号"):
        assert secret not in stored and secret not in log
    assert "identity attached" in log


# -- the widget, in headless Chromium (the same server: no extra start) -----------------------------------------

@pytest.mark.browser
def test_the_widget_fills_a_form_from_the_demo_login_and_marks_it(server):
    from test_pages_browser import ARGS, CHROMIUM, SHOTS, WAIT, _wait_answer

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/")
        page.get_by_role("button", name="打开一件事智能导办").click()
        _wait_answer(page, 1)
        page.locator(".dbw-input textarea").fill("我要申请居民身份证换领，电话13912345678")
        page.keyboard.press("Enter")
        _wait_answer(page, 2)
        form = page.locator(f'.dbw-form[data-form="{FORM}"]')
        form.get_by_role("button", name="用电子证照填写").click(timeout=WAIT)
        form.get_by_label("演示办事人").select_option(label="周明远（演示）", timeout=WAIT)
        form.get_by_role("button", name="演示登录").click()
        id_row = page.locator(f'.dbw-form[data-form="{FORM}"] .dbw-field[data-key="subject_id_number"]')
        id_row.locator(".dbw-cert").wait_for(timeout=WAIT)
        assert "居民身份证" in id_row.locator(".dbw-cert").inner_text()
        box = id_row.locator("input")
        assert box.input_value() == ZHOU.id_number and box.evaluate("el => el.readOnly")
        form = page.locator(f'.dbw-form[data-form="{FORM}"]')
        assert form.get_by_role("button", name="用电子证照填写").count() == 0
        assert "免提交" in form.locator(".dbw-notes").inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        form.screenshot(path=str(SHOTS / "widget-licences.png"))
        # changing a certified value is the user's choice: the mark goes
        name_row = form.locator('.dbw-field[data-key="subject_name"]')
        name_row.locator(".dbw-link").click()
        name_row.locator("input").fill("周明远乙")
        name_row.locator("input").press("Tab")
        name_row.locator(".dbw-cert").wait_for(state="detached", timeout=WAIT)
        assert name_row.get_attribute("data-source") == "user"
        browser.close()
        assert not errors, errors
