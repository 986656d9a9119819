"""Applying for a matter through the real API: a matter's declared form, the generic form of a matter without
one, an application for another person (subject and 代办人 fields), and a catalogue matter handed off to its
official page. One real uvicorn on the small test corpus (tests/conftest_api.py), LLM backend none."""
from __future__ import annotations

import pytest
import yaml

from conftest_api import (CATALOG_MATTER, CATALOG_REGION, FORM_MATTER, GENERIC_MATTER, SRC_CORPUS,  # noqa: F401
                          api_server, id_number, new_session)

pytestmark = pytest.mark.slow

SELF_ID = id_number("11010519900307231")
FATHER_ID = id_number("37010219580415003")
SON_ID = id_number("37010219880612001")
PHONE = "13912345678"
SON_PHONE = "13812345678"


def _guide(doc_id: str) -> dict:
    return yaml.safe_load((SRC_CORPUS / "matters" / f"{doc_id}.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def http(api_server):
    with api_server.client() as c:
        yield c


def _chat(http, message: str, session: tuple[str, dict] | None = None, region: str | None = None) -> dict:
    sid, auth = session or new_session(http)
    body = {"message": message, "session_id": sid, **({"region": region} if region else {})}
    r = http.post("/v1/chat", json=body, headers=auth)
    assert r.status_code == 200, r.text
    return r.json()


def _by_role(form: dict, role: str) -> dict[str, str | None]:
    """label -> value of the fields holding ``role``: the eval and clients read whose a value is by role."""
    return {f["label"]: f["value"] for f in form["fields"] if f["role"] == role}


def test_a_matter_with_a_declared_form_opens_it_prefilled_with_the_subject(http):
    session = new_session(http)
    reply = _chat(http, f"我要申请居民身份证换领，我叫张明，身份证{SELF_ID}，电话{PHONE}", session)
    assert reply["route"]["kind"] == "matter" and reply["route"]["id"] == FORM_MATTER
    form = reply["form"]
    declared = _guide(FORM_MATTER)["form"]
    assert form["form_id"] == declared["id"]
    assert form["guide_id"] == form["scenario_id"] == FORM_MATTER and form["guide_kind"] == "matter"
    assert form["subject_role"] == declared.get("subject_role", "subject") == "subject"
    subject = _by_role(form, "subject")
    assert "张明" in subject.values() and SELF_ID in subject.values() and PHONE in subject.values()
    assert not _by_role(form, "agent"), "applying for oneself shows no 代办人 fields"
    assert {f["key"] for f in form["fields"]} <= {f["key"] for f in declared["fields"]}
    required = {f["key"] for f in declared["fields"] if f.get("required") and not f.get("when")}
    filled = {f["key"] for f in form["fields"] if f["value"]}
    assert set(form["missing"]) == required - filled, "still needed: the required fields not yet filled"
    assert "申请表" in reply["answer"] and "张明" in reply["answer"]
    # the draft is the session's: the form endpoint reads the same values back
    sid, auth = session
    draft = http.get(f"/v1/forms/{form['form_id']}", params={"session_id": sid}, headers=auth).json()
    assert _by_role(draft, "subject") == subject


def test_a_matter_without_a_form_gets_the_generic_one_with_its_situations(http):
    guide = _guide(GENERIC_MATTER)
    assert "form" not in guide
    reply = _chat(http, f"我要办燃气过户，我叫王丽，身份证{SELF_ID}，手机{PHONE}")
    assert reply["route"]["id"] == GENERIC_MATTER
    form = reply["form"]
    assert form["form_id"] == f"{GENERIC_MATTER}-form" and form["guide_kind"] == "matter"
    assert form["subject_role"] == "subject"
    fields = {f["key"]: f for f in form["fields"]}
    assert {"王丽", SELF_ID, PHONE} <= set(_by_role(form, "subject").values())
    situation = next(f for f in fields.values() if f["type"] == "enum" and f["key"] not in ("applies_for", "delivery"))
    assert situation["value"] is None and situation["key"] in form["missing"]
    # its options are the guide's 情形: read the form definition through the form endpoint's validation
    sid, auth = new_session(http)
    for title in (s["title"] for s in guide["situations"]):
        ok = http.post(f"/v1/forms/{form['form_id']}", json={"session_id": sid, "fields": {situation["key"]: title}},
                       headers=auth).json()
        assert next(f for f in ok["fields"] if f["key"] == situation["key"])["valid"] is True
    bad = http.post(f"/v1/forms/{form['form_id']}", json={"session_id": sid, "fields": {situation["key"]: "随便选一个"}},
                    headers=auth).json()
    assert next(f for f in bad["fields"] if f["key"] == situation["key"])["valid"] is False
    # the guide as JSON carries the form the widget renders (its options), generic or declared
    served = http.get(f"/v1/matters/{GENERIC_MATTER}").json()["form"]
    assert served["id"] == form["form_id"]
    assert next(f for f in served["fields"] if f["key"] == situation["key"])["options"] == \
        [s["title"] for s in guide["situations"]]


def test_i_want_to_apply_after_a_consult_opens_the_matters_form(http):
    session = new_session(http)
    first = _chat(http, "燃气过户要带什么材料", session)
    assert first["route"]["id"] == GENERIC_MATTER and first["form"] is None
    reply = _chat(http, "我要办", session)
    assert reply["intent"]["name"] == "apply" and reply["form"]["form_id"] == f"{GENERIC_MATTER}-form"


def test_applying_for_another_person_puts_them_in_the_subject_fields_and_the_speaker_in_the_agent_fields(http):
    session = new_session(http)
    reply = _chat(http, f"帮我爸办居民身份证换领，他叫张建国，身份证{FATHER_ID}；我是他儿子，我叫张伟，"
                        f"身份证{SON_ID}，电话{SON_PHONE}", session)
    form = reply["form"]
    assert form["form_id"] == f"{FORM_MATTER}-form"
    subject, agent = _by_role(form, "subject"), _by_role(form, "agent")
    assert "张建国" in subject.values() and FATHER_ID in subject.values()
    assert "张伟" not in subject.values() and SON_ID not in subject.values() and SON_PHONE not in subject.values()
    assert {"张伟", SON_ID, SON_PHONE} <= set(agent.values())
    assert next(f["value"] for f in form["fields"] if f["key"] == "applies_for") == "代他人办理"
    # the citizen changes their mind in the form: for themself, the 代办人 fields go
    sid, auth = session
    mine = http.post(f"/v1/forms/{form['form_id']}", json={"session_id": sid, "fields": {"applies_for": "本人办理"}},
                     headers=auth).json()
    assert not _by_role(mine, "agent") and "张建国" in _by_role(mine, "subject").values()


def test_a_matter_form_is_submitted_for_a_receipt_naming_its_department(http):
    declared = _guide(FORM_MATTER)
    sid, auth = new_session(http)
    values = {"applies_for": "本人办理", "subject_name": "张明", "subject_id_number": SELF_ID, "subject_phone": PHONE,
              "ethnicity": "汉族", "situation": declared["situations"][0]["title"], "delivery": "窗口领取"}
    r = http.post(f"/v1/forms/{FORM_MATTER}-form/submit", json={"session_id": sid, "fields": values}, headers=auth)
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["scenario_id"] == FORM_MATTER and receipt["departments"] == [declared["department"]]


def test_a_catalogue_matter_hands_off_to_its_official_page_with_what_was_said_masked(http):
    doc = yaml.safe_load((SRC_CORPUS.parent / CATALOG_REGION / "catalog" / f"{CATALOG_MATTER}.yaml")
                         .read_text(encoding="utf-8"))
    region = yaml.safe_load((SRC_CORPUS.parent / CATALOG_REGION / "region.yaml").read_text(encoding="utf-8"))["name"]
    reply = _chat(http, f"我要申请{doc['title']}，我叫张明，身份证{SELF_ID}，电话{PHONE}", region=region)
    assert reply["route"]["kind"] == "catalog" and reply["route"]["id"] == CATALOG_MATTER
    assert reply["form"] is None
    answer = reply["answer"]
    assert doc["link"] in answer and "不能在这里填表申请" in answer
    assert SELF_ID not in answer and PHONE not in answer and "张明" not in answer
    assert SELF_ID[:3] in answer and SELF_ID[-4:] in answer and PHONE[-4:] in answer  # masked, yet recognisable


def test_pre_review_before_submitting_and_on_the_receipt(http):
    """补正 before submit: an empty draft lists its required fields, a filled one no longer does; the receipt and
    the status lookup keep the review (keys and labels, no values)."""
    declared = _guide(FORM_MATTER)
    sid, auth = new_session(http)
    blank = http.get(f"/v1/forms/{FORM_MATTER}-form/review", params={"session_id": sid}, headers=auth)
    assert blank.status_code == 200, blank.text
    assert blank.json()["status"] == "needs_correction"
    assert {"subject_name", "subject_id_number"} <= {i["key"] for i in blank.json()["items"] if i["severity"] == "fix"}
    other = new_session(http)[1]
    assert http.get(f"/v1/forms/{FORM_MATTER}-form/review", params={"session_id": sid}, headers=other).status_code \
        in (401, 403), "another session's secret cannot read this draft's review"
    values = {"applies_for": "本人办理", "subject_name": "张明", "subject_id_number": SELF_ID, "subject_phone": PHONE,
              "ethnicity": "汉族", "situation": declared["situations"][0]["title"], "delivery": "窗口领取"}
    r = http.post(f"/v1/forms/{FORM_MATTER}-form", json={"session_id": sid, "fields": values}, headers=auth)
    assert r.status_code == 200, r.text
    review = http.get(f"/v1/forms/{FORM_MATTER}-form/review", params={"session_id": sid}, headers=auth).json()
    fixes = {i["key"]: i["message"] for i in review["items"] if i["severity"] == "fix"}
    assert "subject_name" not in fixes and "subject_id_number" not in fixes
    receipt = http.post(f"/v1/forms/{FORM_MATTER}-form/submit", json={"session_id": sid}, headers=auth).json()
    assert receipt["review"]["status"] == review["status"]
    assert [i["key"] for i in receipt["review"]["items"]] == [i["key"] for i in review["items"]]
    status = http.get(f"/v1/submissions/{receipt['receipt_no']}").json()
    assert status["review_status"] == review["status"]
    assert SELF_ID not in str(status) and "张明" not in str(status)
