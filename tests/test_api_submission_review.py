"""The consoles' view of submitted applications over real HTTP: the hotline looks up a caller's receipt and sees its
pre-review (通过 / 需补正 with each 补正 item), staff list submissions filtered by review status; neither sees a
value of the application, and a citizen or a platform key reaches neither. One real uvicorn per database
(tests/conftest_api.py)."""
from __future__ import annotations

import pytest
import yaml

from conftest_api import (FORM_MATTER, HOTLINE_KEY, INTEGRATION_KEY, SRC_CORPUS, STAFF_KEY,  # noqa: F401
                          api_server, id_number, new_session)

pytestmark = pytest.mark.slow

HOTLINE = {"X-API-Key": HOTLINE_KEY}
STAFF = {"X-API-Key": STAFF_KEY}
FORM = f"{FORM_MATTER}-form"


@pytest.fixture(scope="module")
def http(api_server):
    with api_server.client() as c:
        yield c


def _submit(http, name: str, id_no: str, phone: str) -> tuple[dict, dict]:
    """A complete application typed into the matter's declared form and submitted: (receipt, citizen headers)."""
    situation = yaml.safe_load((SRC_CORPUS / "matters" / f"{FORM_MATTER}.yaml").read_text(encoding="utf-8"))
    sid, auth = new_session(http)
    values = {"applies_for": "本人办理", "subject_name": name, "subject_id_number": id_no, "subject_phone": phone,
              "ethnicity": "汉族", "situation": situation["situations"][0]["title"], "delivery": "窗口领取"}
    r = http.post(f"/v1/forms/{FORM}/submit", json={"session_id": sid, "fields": values}, headers=auth)
    assert r.status_code == 200, r.text
    return r.json(), auth


@pytest.fixture(scope="module")
def submitted(http):
    """A clean application and one whose name holds a digit (a valid text, so it is accepted, but 需补正)."""
    clean_id, faulty_id = id_number("37010219850612002"), id_number("37020319790304005")
    clean, citizen = _submit(http, "赵明远", clean_id, "13912340001")
    faulty, _ = _submit(http, "钱2红", faulty_id, "13912340002")
    return {"clean": clean, "faulty": faulty, "citizen": citizen,
            "values": [clean_id, faulty_id, "赵明远", "钱2红", "13912340001", "13912340002"]}


def test_the_hotline_sees_a_receipts_pre_review_without_its_values(http, submitted):
    faulty, clean = submitted["faulty"], submitted["clean"]
    r = http.get(f"/v1/hotline/submissions/{faulty['receipt_no'].lower()}", headers=HOTLINE)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["receipt_no"] == faulty["receipt_no"] and view["review_status"] == "needs_correction"
    fixes = [i for i in view["review"]["items"] if i["severity"] == "fix"]
    assert [i["key"] for i in fixes] == ["subject_name"] and "数字" in fixes[0]["message"]
    assert view["review"] == faulty["review"], "the review kept at submission, as the citizen's receipt showed it"
    passed = http.get(f"/v1/hotline/submissions/{clean['receipt_no']}", headers=STAFF).json()  # staff too
    assert passed["review_status"] == clean["review"]["status"] == "pass"
    for body in (r.text, str(passed)):
        assert not any(v in body for v in submitted["values"])
    missing = http.get("/v1/hotline/submissions/YJS2026010100000000", headers=HOTLINE)
    assert missing.status_code == 404 and missing.json()["code"] == "receipt_not_found"


def test_staff_filter_submissions_by_review_status(http, submitted):
    faulty, clean = submitted["faulty"]["receipt_no"], submitted["clean"]["receipt_no"]

    def receipts(status: str, **params) -> tuple[list[str], dict]:
        r = http.get("/v1/admin/submissions", params={"review_status": status, "limit": 100, **params}, headers=STAFF)
        assert r.status_code == 200, r.text
        return [i["receipt_no"] for i in r.json()["items"]], r.json()

    needs, page = receipts("needs_correction")
    passed, _ = receipts("pass")
    everything, listed = receipts("all")
    assert faulty in needs and clean not in needs
    assert clean in passed and faulty not in passed
    assert {faulty, clean} <= set(everything)
    # newest first (submissions are stamped to the second: two in the same second may come in either order)
    times = [i["submitted_at"] for i in listed["items"]]
    assert times == sorted(times, reverse=True), "newest first"
    counts = page["counts"]
    assert counts["needs_correction"] >= 1 and counts["pass"] >= 1 and len(needs) == counts["needs_correction"]
    assert all(i["review_status"] == "needs_correction" and any(x["severity"] == "fix" for x in i["review"]["items"])
               for i in page["items"])
    first, _ = receipts("all", limit=1)
    second, one = receipts("all", limit=1, offset=1)
    assert first == everything[:1] and second == everything[1:2] and one["next_offset"] in (2, None)
    assert not any(v in str(page) for v in submitted["values"])
    bad = http.get("/v1/admin/submissions", params={"review_status": "maybe"}, headers=STAFF)
    assert bad.status_code == 422
    assert http.get("/v1/admin/submissions", params={"limit": 1000}, headers=STAFF).status_code == 422


def test_citizens_platforms_and_the_hotline_are_kept_to_their_views(http, submitted):
    receipt = submitted["faulty"]["receipt_no"]
    citizen = submitted["citizen"]  # the session's secret opens its own session, never a console
    assert http.get(f"/v1/hotline/submissions/{receipt}", headers=citizen).status_code == 401
    assert http.get("/v1/admin/submissions", headers=citizen).status_code == 401
    platform = {"X-API-Key": INTEGRATION_KEY}
    assert http.get(f"/v1/hotline/submissions/{receipt}", headers=platform).status_code == 403
    assert http.get("/v1/admin/submissions", headers=platform).status_code == 403
    assert http.get("/v1/admin/submissions", headers=HOTLINE).status_code == 403, "the list is the staff's"
