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


# -- whose fields a licence fills, and the session's identity ------------------------------------------------

import yaml  # noqa: E402

from agent.forms.identity import IdentityRejected, SessionIdentities  # noqa: E402
from agent.forms.licences import Licence, apply_licences, load_provider  # noqa: E402
from agent.session import InMemorySessionStore  # noqa: E402
from corpus.schema import MatterGuide  # noqa: E402
from daoban.settings import load_settings  # noqa: E402
from tests.conftest_prefill import make_id  # noqa: E402

ZHOU = VerifiedIdentity(id_number="370102198506123410", name="周明远")
FATHER_ID = make_id("370102", "19580415", "003")


def _id_card_guide() -> MatterGuide:
    path = ROOT / "corpus/data/shandong/matters/resident-id-card-renewal.yaml"
    return MatterGuide.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_choosing_to_apply_for_someone_else_moves_the_speaker_from_the_subject_to_the_agent(demo):
    guide = _id_card_guide()
    form, filler = guide.application_form, FormFiller()
    state = filler.fill(form, ["我要申请居民身份证换领"], guide_id=guide.id, today=TODAY, guide_kind="matter")
    own = apply_licences(guide, state, _held(demo, ZHOU))
    got = {f.key: f for f in own.fields}
    assert got["subject_id_number"].value == ZHOU.id_number and got["subject_id_number"].licence == "居民身份证"
    assert got["hukou_address"].value == "济南市历下区泉城路88号" and got["hukou_address"].licence == "户口簿"
    # the 户口簿 behind 住址（户籍地址） covers the 居民户口簿; the old card itself is still handed in
    assert own.exempt_materials == ["居民户口簿", "居民户口簿（已完成信息变更）"]
    other = filler.apply_edits(form, own, {"applies_for": "代他人办理"}, today=TODAY)
    other = apply_licences(guide, other, _held(demo, ZHOU), previous=own)
    got = {f.key: f for f in other.fields}
    assert got["subject_id_number"].value is None and "subject_id_number" in other.missing
    assert got["agent_id_number"].value == ZHOU.id_number and got["agent_id_number"].source == "e_license"
    assert not other.exempt_materials


def test_a_consented_licence_of_the_subject_fills_their_fields_only_when_their_number_is_on_the_form(demo):
    guide = _id_card_guide()
    father = Licence(licence="居民身份证", holder_id=FATHER_ID, values={"name": "周大山", "id_number": FATHER_ID})
    held = _held(demo, ZHOU, extra=[father])
    filler = FormFiller()
    for_father = filler.fill(guide.application_form, [f"帮我爸办居民身份证换领，他的身份证{FATHER_ID}"],
                             guide_id=guide.id, today=TODAY, guide_kind="matter")
    got = {f.key: f for f in apply_licences(guide, for_father, held).fields}
    assert got["subject_name"].value == "周大山" and got["subject_name"].source == "e_license"
    assert got["agent_name"].value == ZHOU.name
    someone = filler.fill(guide.application_form, [f"帮我爸办居民身份证换领，他的身份证{make_id('370102', '19600101', '011')}"],
                          guide_id=guide.id, today=TODAY, guide_kind="matter")
    got = {f.key: f for f in apply_licences(guide, someone, held).fields}
    assert got["subject_name"].source != "e_license", "another person's licence fills nobody else's fields"


def _held(demo, who, extra=()):
    from agent.forms.licences import HeldLicences

    return HeldLicences(identity=who, licences=demo.licences(who) + list(extra), verified_at=0)


class _Clock:
    now = 1_000_000.0

    def __call__(self):
        return self.now


def test_a_session_accepts_an_assertion_for_its_own_live_nonce_once(demo):
    clock, store = _Clock(), InMemorySessionStore()
    ids = SessionIdentities(store, lambda _sid: _NoLock(), _Timed(demo, clock), nonce_ttl_s=60, clock=clock)
    nonce = ids.challenge("s1").value
    token = demo.assertion(ZHOU, nonce=nonce, now=clock.now)
    clock.now += 61  # the nonce has expired (the assertion itself is good for 600 s)
    with pytest.raises(IdentityRejected) as err:
        ids.attach("s1", token)
    assert err.value.code == "assertion_not_for_session" and ids.held("s1") is None
    nonce = ids.challenge("s1").value
    held = ids.attach("s1", demo.assertion(ZHOU, nonce=nonce, now=clock.now))
    assert held.identity == ZHOU and held.identity.nonce is None and len(held.licences) == 4
    assert store.load("s1").login_nonce is None


def test_a_platform_that_does_not_answer_keeps_the_nonce(demo):
    class Down(_Timed):
        def licences(self, identity):
            raise ConnectionError("platform down")

    clock, store = _Clock(), InMemorySessionStore()
    ids = SessionIdentities(store, lambda _sid: _NoLock(), Down(demo, clock), clock=clock)
    nonce = ids.challenge("s1").value
    with pytest.raises(IdentityRejected) as err:
        ids.attach("s1", demo.assertion(ZHOU, nonce=nonce, now=clock.now))
    assert err.value.status == 503 and store.load("s1").login_nonce.value == nonce and ids.held("s1") is None


class _Timed:
    """The demo platform on the test's clock."""

    def __init__(self, demo, clock):
        self.demo, self.clock = demo, clock

    def verify(self, assertion):
        return self.demo.verify(assertion, now=self.clock())

    def licences(self, identity):
        return self.demo.licences(identity)


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_the_provider_is_chosen_by_settings():
    assert load_provider(load_settings()) is None  # off unless configured
    demo = load_provider(load_settings(licences={"provider": "demo"}))
    assert isinstance(demo, DemoLicences) and demo.licences(ZHOU)
    city = load_provider(load_settings(licences={"provider": "agent.forms.licences:DemoLicences",
                                                 "options": {"key": "daoban-demo-licence-key", "records": str(RECORDS)}}))
    assert isinstance(city, DemoLicences) and len(city.licences(ZHOU)) == 4
    with pytest.raises(TypeError):
        load_provider(load_settings(licences={"provider": "collections:OrderedDict"}))  # neither method


def test_the_pre_review_takes_certified_values_as_verified_and_flags_the_typed_one(demo):
    guide = _id_card_guide()
    form, filler = guide.application_form, FormFiller()
    state = filler.fill(form, ["我要申请居民身份证换领"], guide_id=guide.id, today=TODAY, guide_kind="matter")
    state = apply_licences(guide, state, _held(demo, ZHOU))
    assert {f.key: f.source for f in state.fields}["subject_birth_date"] == "e_license"
    # the user types another (valid) ID number over the certified one: its birth date disagrees with the licence's
    typed = filler.apply_edits(form, state, {"subject_id_number": make_id("370102", "19870101", "012")}, today=TODAY)
    from agent.forms.licences import decline

    typed = apply_licences(guide, typed, _held(demo, ZHOU), previous=decline(state, ["subject_id_number"]))
    result = PreReviewer(load_form_words().review).review(form, typed, guide, {}, today=TODAY)
    flagged = {i.key for i in result.fixes}
    assert "subject_id_number" in flagged and "subject_birth_date" not in flagged
    assert "subject_birth_date" in result.certified and "subject_id_number" not in result.certified


SAVED_ADDRESS = "济南市历下区文化东路59号2单元301室"  # ZHOU's 常用地址 in the demo account


def test_the_address_saved_in_the_account_fills_an_empty_field_only_and_stays_the_holders_to_check(demo):
    from agent.forms.licences import covered_materials, mask_certified

    path = ROOT / "corpus/data/shandong/matters/residence-permit.yaml"
    guide = MatterGuide.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    form, filler = guide.application_form, FormFiller()
    state = filler.fill(form, ["我要办居住证"], guide_id=guide.id, today=TODAY, guide_kind="matter")
    assert "residence_address" in state.missing
    own = apply_licences(guide, state, _held(demo, ZHOU))
    got = {f.key: f for f in own.fields}
    assert got["residence_address"].value == SAVED_ADDRESS and got["residence_address"].source == "account"
    assert got["residence_address"].licence == "账户常用信息"
    # the card's 住址 is the 户籍 address, a different field and a certified one
    assert got["hukou_address"].value == "济南市历下区泉城路88号" and got["hukou_address"].source == "e_license"
    assert "residence_address" not in own.missing and not own.conflicts
    # nothing to leave at home because of it (免提交 follows certified values only)
    assert covered_materials(form, own, ["账户常用信息", "常用地址证明"]) == []
    assert mask_certified(own).fields[[f.key for f in own.fields].index("residence_address")].value != SAVED_ADDRESS

    said = filler.fill(form, ["我要办居住证，现在住在济南市市中区经七路100号"], guide_id=guide.id, today=TODAY,
                       guide_kind="matter")
    got = {f.key: f for f in apply_licences(guide, said, _held(demo, ZHOU)).fields}
    assert "经七路100号" in got["residence_address"].value and got["residence_address"].source == "conversation"

    # for someone else: where the speaker lives is not where the person applied for lives
    other = filler.apply_edits(form, own, {"applies_for": "代他人办理"}, today=TODAY)
    other = apply_licences(guide, other, _held(demo, ZHOU), previous=own)
    got = {f.key: f for f in other.fields}
    assert got["residence_address"].value is None and "residence_address" in other.missing
