"""免填写 from a household's electronic licences, by the shared map (agent/data/licences.yaml): shipped forms filled
by the real form filler, a household member's fields from their 居民户口簿 page, nobody outside the household."""
import datetime as dt

import pytest
import yaml

from agent.forms.filler import FormFiller
from agent.forms.licence_map import load_licence_map
from agent.forms.licences import HeldLicences, Licence, VerifiedIdentity, apply_licences, fill_from_licences
from corpus.datafile import DataFileError
from corpus.schema import MatterGuide
from tests.conftest_prefill import ROOT, make_id, newborn_form

TODAY = dt.date(2026, 12, 3)
ZHOU = VerifiedIdentity(id_number=make_id("370102", "19850612", "341"), name="周明远")
FATHER_ID = make_id("370102", "19580415", "003")
HOME = "济南市历下区泉城路88号"


def _page(holder: str, name: str, household: str, **values) -> Licence:
    return Licence(licence="居民户口簿", holder_id=holder, household=household,
                   values={"name": name, "id_number": holder, "address": HOME, "ethnicity": "汉族", **values})


def _zhou(household: str = "H1", extra=()) -> HeldLicences:
    own = [Licence(licence="居民身份证", holder_id=ZHOU.id_number,
                   values={"name": ZHOU.name, "id_number": ZHOU.id_number, "gender": "男", "address": HOME}),
           _page(ZHOU.id_number, ZHOU.name, household),
           Licence(licence="统一身份认证账户", holder_id=ZHOU.id_number, values={"phone": "13912345678"})]
    return HeldLicences(identity=ZHOU, licences=own + list(extra), verified_at=0)


def _id_card_guide() -> MatterGuide:
    path = ROOT / "corpus/data/shandong/matters/resident-id-card-renewal.yaml"
    return MatterGuide.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _fill(guide, text: str, held: HeldLicences):
    state = FormFiller().fill(guide.application_form, [text], guide_id=guide.id, today=TODAY, guide_kind="matter")
    return {f.key: f for f in apply_licences(guide, state, held).fields}


def test_a_household_member_named_in_the_conversation_is_filled_from_their_page():
    guide = _id_card_guide()
    father = _page(FATHER_ID, "周大山", "H1", gender="男")
    got = _fill(guide, "帮我爸办居民身份证换领，他叫周大山", _zhou(extra=[father]))
    assert got["applies_for"].value == "代他人办理"
    assert got["subject_name"].value == "周大山"
    assert got["subject_id_number"].value == FATHER_ID and got["subject_id_number"].licence == "居民户口簿"
    assert got["hukou_address"].value == HOME and got["hukou_address"].source == "e_license"
    # the speaker is the 代办人: their own licences fill the agent's side, their account the phone
    assert got["agent_name"].value == ZHOU.name and got["agent_id_number"].value == ZHOU.id_number
    assert got["agent_phone"].value == "13912345678" and got["agent_phone"].licence == "统一身份认证账户"


def test_the_members_number_said_picks_the_member_and_a_different_name_is_reported():
    guide = _id_card_guide()
    father = _page(FATHER_ID, "周大山", "H1")
    state = FormFiller().fill(guide.application_form, [f"帮我爸办居民身份证换领，他叫周达山，身份证{FATHER_ID}"],
                              guide_id=guide.id, today=TODAY, guide_kind="matter")
    filled = apply_licences(guide, state, _zhou(extra=[father]))
    got = {f.key: f for f in filled.fields}
    assert got["subject_name"].value == "周大山"
    assert [(c.key, c.said) for c in filled.conflicts] == [("subject_name", "周达山")]


@pytest.mark.parametrize("text, pages", [
    # named, but the page with that name is of another 户
    ("帮我爸办居民身份证换领，他叫周大山", [_page(FATHER_ID, "周大山", "H2")]),
    # someone the household does not list
    ("帮我舅舅办居民身份证换领，他叫张国栋", [_page(FATHER_ID, "周大山", "H1")]),
    # nobody named: a household of several is never guessed from
    ("帮我爸办居民身份证换领", [_page(FATHER_ID, "周大山", "H1")]),
])
def test_nobody_outside_the_household_or_unnamed_is_filled(text, pages):
    got = _fill(_id_card_guide(), text, _zhou(extra=pages))
    assert got["subject_id_number"].value is None
    assert got["hukou_address"].source != "e_license"
    assert got["agent_id_number"].value == ZHOU.id_number  # the speaker's own side still is


def test_a_birth_certificate_fills_the_newborns_and_parents_fields_of_the_shipped_newborn_form():
    scenario, form = newborn_form()
    mother = VerifiedIdentity(id_number=make_id("370203", "19930422", "674"), name="孙晓雯")
    father_id = make_id("370203", "19900101", "031")
    certificate = Licence(licence="出生医学证明", holder_id=mother.id_number, values={
        "child_name": "王子墨", "child_gender": "男", "child_birth_date": "2026-11-20",
        "birth_hospital": "青岛市妇女儿童医院", "mother_name": "孙晓雯", "mother_id_number": mother.id_number,
        "father_name": "王建国", "father_id_number": father_id})
    card = Licence(licence="居民身份证", holder_id=mother.id_number,
                   values={"name": "孙晓雯", "id_number": mother.id_number, "gender": "女"})
    state = FormFiller().fill(form, ["我要给宝宝办出生一件事，我是孩子妈妈"], guide_id=scenario.id, today=TODAY)
    filled = fill_from_licences(form, state, [card, certificate], mother.id_number)
    got = {f.key: f for f in filled.fields}
    assert {k: got[k].value for k in ("baby_name", "baby_gender", "baby_birth_date", "birth_hospital",
                                      "mother_id_number", "father_name", "father_id_number")} == {
        "baby_name": "王子墨", "baby_gender": "男", "baby_birth_date": "2026-11-20",
        "birth_hospital": "青岛市妇女儿童医院", "mother_id_number": mother.id_number, "father_name": "王建国",
        "father_id_number": father_id}
    assert got["birth_hospital"].licence == "出生医学证明"
    assert got["applicant_id_number"].value == mother.id_number
    assert got["hukou_address"].value is None, "落户地址 is where the baby will live: no licence says it"


def test_a_spouse_on_the_marriage_certificate_fills_only_the_holders_own_application():
    scenario, form = newborn_form()  # any form: the certificate's spouse is the holder's, the form's the subject's
    lic = Licence(licence="结婚证", holder_id=ZHOU.id_number,
                  values={"name": ZHOU.name, "spouse_name": "孙晓雯", "spouse_id_number": make_id()})
    state = FormFiller().fill(form, ["给宝宝办出生一件事"], guide_id=scenario.id, today=TODAY)
    filled = fill_from_licences(form, state, [lic], ZHOU.id_number)
    assert not any(f.source == "e_license" and f.value == "孙晓雯" for f in filled.fields)


def test_the_shipped_map_names_known_items_and_roles():
    lmap = load_licence_map()
    assert lmap.kind("户口簿") == "居民户口簿" and lmap.kind("社保卡") == "社会保障卡"
    assert lmap.item_of("baby_birth_date", "出生日期", "date")[0] == "birth_date"
    assert lmap.item_of("bank_name", "开户银行", "text")[0] == "bank_name"
    assert lmap.item_of("marital_status", "变更后婚姻状况", "enum") is None  # a value to be, not certified


BROKEN = """\
items:
  name: {types: [text], keys: ['_name$'], person: true}
  bad: {keys: ['(unclosed']}
licences:
  居民身份证:
    values:
      name: {item: name, person: holder}
      nation: {item: ethnicity, person: holder}
      boss: {item: name, person: emperor}
"""


def test_a_broken_map_names_the_file_the_line_and_what_is_wrong(tmp_path):
    path = tmp_path / "licences.yaml"
    with pytest.raises(DataFileError) as err:
        load_licence_map(path, BROKEN)
    assert any(p.startswith(f"{path}:3:") and "not a regular expression" in p for p in err.value.problems)
    with pytest.raises(DataFileError) as err:
        load_licence_map(path, BROKEN.replace("  bad: {keys: ['(unclosed']}\n", ""))
    problems = err.value.problems
    assert any(p.startswith(f"{path}:7:") and "'ethnicity' is not one of the items" in p for p in problems), problems
    assert any(p.startswith(f"{path}:8:") and "'emperor' is neither holder nor a role" in p for p in problems), problems


def test_the_marriage_certificate_fills_both_sides_of_the_holders_own_divorce_registration():
    path = ROOT / "corpus/data/shandong/matters/divorce-registration.yaml"
    guide = MatterGuide.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    wife_id = make_id("370203", "19870301", "022")
    certificate = Licence(licence="结婚证", holder_id=ZHOU.id_number, values={
        "name": ZHOU.name, "id_number": ZHOU.id_number, "certificate_number": "J370102-2012-000123",
        "spouse_name": "孙晓雯", "spouse_id_number": wife_id})
    got = _fill(guide, "我要办离婚登记", _zhou(extra=[certificate]))
    assert (got["husband_name"].value, got["husband_id_number"].value) == (ZHOU.name, ZHOU.id_number)
    assert (got["wife_name"].value, got["wife_id_number"].value) == ("孙晓雯", wife_id)
    assert got["wife_name"].licence == "结婚证"
    assert got["marriage_certificate_number"].value == "J370102-2012-000123"


def test_another_persons_number_in_the_subjects_fields_keeps_the_speaker_out_of_them():
    guide = _id_card_guide()
    colleague = make_id("370705", "19980203", "976")
    # nothing said about for whom: the form's default 本人办理 is no choice against the number said
    got = _fill(guide, f"我要申请居民身份证换领，身份证号{colleague}", _zhou())
    assert got["subject_id_number"].value == colleague and got["subject_id_number"].source != "e_license"
    assert got["subject_name"].value != ZHOU.name and got["hukou_address"].value is None


def _matter(name: str) -> MatterGuide:
    return MatterGuide.model_validate(yaml.safe_load((ROOT / f"corpus/data/shandong/matters/{name}.yaml")
                                                     .read_text(encoding="utf-8")))


def test_the_social_security_cards_bank_account_fills_a_payout_account_not_one_to_be_debited():
    """Benefits are paid to the 社会保障卡's 金融账户: it fills 补贴发放账号 on the holder's own application, never an
    account the user chooses to be debited (委托扣款银行账号), nor someone else's application."""
    card = Licence(licence="社会保障卡", holder_id=ZHOU.id_number,
                   values={"card_number": "A12345678", "bank_name": "农业银行", "financial_account": "6228480012345678907"})
    subsidy = _fill(_matter("housing-rental-subsidy"), "我要申请租房补贴", _zhou(extra=[card]))
    assert subsidy["bank_account"].value == "6228480012345678907" and subsidy["bank_account"].source == "e_license"
    assert subsidy["bank_name"].value == "农业银行"
    debit = _fill(_matter("flexible-employment-housing-fund-deposit"), "我要办灵活就业缴存公积金", _zhou(extra=[card]))
    assert not any(f.value == "6228480012345678907" for f in debit.values())
    other = _fill(_matter("housing-rental-subsidy"), f"给我妈申请租房补贴，她身份证{make_id()}", _zhou(extra=[card]))
    assert other["bank_account"].value is None
