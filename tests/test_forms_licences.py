"""免填写 from a verified identity and signed electronic licences (the demo platform), on the shipped newborn form
filled by the real form filler."""
import datetime as dt
import json

import pytest

from agent.forms.filler import FormFiller
from agent.forms.licences import DemoLicences, VerifiedIdentity, fill_from_licences, sign
from agent.forms.review import PreReviewer
from agent.forms.vocabulary import load_form_words
from tests.conftest_prefill import ROOT, newborn_form

KEY = b"daoban-demo-licence-key"
RECORDS = ROOT / "agent/data/demo/licences.json"
MOTHER = VerifiedIdentity(id_number="370203199304226741", name="孙晓雯")
TODAY = dt.date(2026, 12, 3)


@pytest.fixture(scope="module")
def demo():
    return DemoLicences(KEY, RECORDS)


def test_an_assertion_verifies_only_with_its_key_and_before_it_expires(demo):
    token = demo.assertion(MOTHER, ttl_s=60, now=1_000_000)
    assert demo.verify(token, now=1_000_030) == MOTHER
    assert demo.verify(token, now=1_000_061) is None  # expired
    assert DemoLicences(b"another-key", RECORDS).verify(token, now=1_000_030) is None
    body, _, signature = token.partition(".")
    forged = DemoLicences(KEY, RECORDS).assertion(
        VerifiedIdentity(id_number="370102198506123410", name="周明远"), now=1_000_000).partition(".")[0]
    assert demo.verify(f"{forged}.{signature}", now=1_000_030) is None
    assert demo.verify("not a token") is None


def test_a_tampered_record_is_ignored(tmp_path, demo):
    data = json.loads(RECORDS.read_text(encoding="utf-8"))
    assert [lc.licence for lc in demo.licences(MOTHER)] == ["居民身份证", "户口簿"]
    data[2]["record"]["values"]["address"] = "别处"  # the mother's 居民身份证, signature unchanged
    path = tmp_path / "records.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert [lc.licence for lc in DemoLicences(KEY, path).licences(MOTHER)] == ["户口簿"]
    data[2]["signature"] = sign(KEY, data[2]["record"])
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert len(DemoLicences(KEY, path).licences(MOTHER)) == 2


def test_the_verified_mothers_fields_are_filled_and_marked(demo):
    scenario, form = newborn_form()
    state = FormFiller().fill(form, ["我要给宝宝办出生一件事，宝宝叫王子墨"], guide_id=scenario.id, today=TODAY)
    assert "applicant_id_number" in state.missing
    filled = fill_from_licences(form, state, demo.licences(MOTHER))
    got = {f.key: f for f in filled.fields}
    assert got["applicant_id_number"].value == MOTHER.id_number and got["applicant_id_number"].source == "e_license"
    assert got["applicant_name"].value == "孙晓雯"
    assert got["baby_name"].value == "王子墨" and got["baby_name"].source == "conversation"  # not hers
    assert "applicant_id_number" not in filled.missing and "applicant_name" not in filled.missing
    result = PreReviewer(load_form_words().review).review(form, filled, scenario, {}, today=TODAY)
    assert not any(i.key == "applicant_id_number" for i in result.fixes)


def test_a_value_the_user_typed_stays(demo):
    scenario, form = newborn_form()
    state = FormFiller().fill(form, ["宝宝叫王子墨"], guide_id=scenario.id, today=TODAY)
    typed = state.model_copy(update={"fields": [
        f.model_copy(update={"value": "孙小雯", "source": "user"}) if f.key == "applicant_name" else f
        for f in state.fields]})
    filled = fill_from_licences(form, typed, demo.licences(MOTHER))
    assert next(f for f in filled.fields if f.key == "applicant_name").value == "孙小雯"
