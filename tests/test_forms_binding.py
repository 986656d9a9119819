"""Whose name is whose when the user names the person applied for and then themself: a person word (kinship, job,
员工/老人, with a qualifier before it) binds the name after it and the numbers after that; "我是他/她 X 名字" names the
user; 他/她 goes back to the person named; the user's workplace says they act for its staff; a form for its applicant
with no 代办人 fields takes whom the user applies for. Real slot extractor and filler, shipped forms, our own sentences."""
from pathlib import Path

import pytest
import yaml

from agent.forms.filler import FormFiller
from agent.forms.slots import SlotExtractor
from corpus.schema import Scenario
from tests.conftest_prefill import make_id

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "corpus/data/shandong/scenarios"
BABY = make_id("370214", "20250417", "862")
YOUNG = make_id("371082", "20020911", "453")
OLD = make_id("370102", "19440722", "326")
WORKER = make_id("370902", "19660318", "571")
PARENT = make_id("370602", "19900514", "881")


def _form(name: str):
    return Scenario.model_validate(yaml.safe_load((SCENARIOS / name).read_text(encoding="utf-8"))).application_form


def _values(state) -> dict[str, str]:
    return {f.key: f.value for f in state.fields if f.value}


@pytest.fixture(scope="module")
def slots():
    return SlotExtractor()


@pytest.fixture(scope="module")
def filler():
    return FormFiller()


def _roles(slots, text: str) -> dict[str, str | None]:
    return {s.value: s.role for s in slots.extract(text) if s.type in ("name", "id_number", "phone")}


def test_a_short_kinship_word_after_him_names_the_user(slots):
    found = slots.extract(f"帮我弟弟报个名 他叫柯明远 {YOUNG} 我是他姐柯晓雯 电话139 5521 6480")
    roles = {s.value: s.role for s in found if s.type in ("name", "id_number", "phone")}
    assert [s.value for s in found if s.type == "relation"] == ["guardian"]
    assert roles["柯明远"] == roles[YOUNG] == "relative"
    assert roles["柯晓雯"] == roles["13955216480"] == "guardian"


def test_an_aunt_naming_herself_is_the_guardian_on_a_kindergarten_form(filler):
    state = filler.fill(_form("kindergarten-enrollment.yaml"),
                        [f"孩子叫柯小满 {BABY} 我是她大姨蔺芳 电话180 3321 7764 想给她报个幼儿园"])
    values = _values(state)
    assert values["child_name"] == "柯小满" and values["child_id_number"] == BABY
    assert values["applicant_name"] == "蔺芳" and values["applicant_phone"] == "18033217764"


def test_a_job_word_with_a_qualifier_binds_the_name_and_he_after_it(slots):
    text = f"我是鸿达纸箱厂办公室的蔺芳，手机 135-3318-2276。厂里老电工柯永福要退休了，他身份证号 {WORKER}。"
    found = slots.extract(text)
    roles = {s.value: s.role for s in found if s.type in ("name", "id_number", "phone")}
    assert [s.value for s in found if s.type == "relation"] == ["agent"]  # the user, of the workplace's staff
    assert roles["蔺芳"] == roles["13533182276"] == "applicant"
    assert roles["柯永福"] == roles[WORKER] == "staff"


def test_the_user_of_a_workplace_applies_for_the_worker_they_name(filler):
    state = filler.fill(_form("retirement.yaml"), [f"我是鸿达纸箱厂办公室的蔺芳，手机 135-3318-2276。厂里老电工柯永福"
                                                   f"这个月到龄，单位给他报退休。他身份证号 {WORKER}。"])
    values = _values(state)
    assert values["applicant_name"] == "柯永福" and values["applicant_id_number"] == WORKER
    assert values["applicant_phone"] == "13533182276"


def test_a_job_title_right_after_what_the_user_said_they_are_is_still_the_user(slots):
    roles = _roles(slots, f"出事的员工叫柯永福，身份证 {WORKER}。我是公司行政负责人蔺芳，电话 139 5392 4417。")
    assert roles["柯永福"] == roles[WORKER] == "employee"
    assert roles["蔺芳"] == roles["13953924417"] == "agent"


def test_he_goes_back_to_the_person_named_past_their_unnamed_relative(slots):
    roles = _roles(slots, f"我是社区的网格员蔺芳。楼里有位独居老人柯桂芝，腿脚不便，外甥偶尔来看看。她身份证号 {OLD}。")
    assert roles["柯桂芝"] == roles[OLD] == "subject"


def test_he_still_means_the_users_own_relative_named_last(slots):
    """我爸 is the user's own: 他 is him, not the mother named before."""
    roles = _roles(slots, f"我妈叫柯桂芝，身份证{OLD}。我爸也要一起办，他身份证{WORKER}")
    assert roles[OLD] == "mother" and roles[WORKER] == "father"


def test_a_name_said_again_is_the_same_person(slots):
    roles = _roles(slots, f"我是公司人事蔺芳。我们保安柯永福上个月离职了。柯永福身份证 {WORKER}。")
    assert roles[WORKER] == "staff"


def test_where_the_user_is_from_is_not_a_name(slots):
    found = slots.extract(f"孩子叫柯小满，身份证{BABY}，我是她爸柯建，电话177 2233 9016，荣成的。")
    assert [s.value for s in found if s.type == "name"] == ["柯小满", "柯建"]


@pytest.mark.parametrize("said", [f"孩子叫柯小满，身份证{BABY}，我是她妈妈蔺芳，电话158 0253 4815",
                                  f"孩子叫柯小满 我是她妈妈蔺芳 身份证{PARENT} 手机15802534815"])
def test_a_form_for_its_applicant_without_agent_fields_takes_whom_the_user_applies_for(filler, said):
    """婚育一件事 has 申请人（男方） fields and no 代办人: applying for the child, the child is its 申请人 and the
    mother's own name and number stay out of them (with no child's number, "我是她妈妈" says whom it is for)."""
    state = filler.fill(_form("marriage-childbirth.yaml"), ["国家给三岁以下孩子发补贴，想给俺闺女申请", said])
    values = _values(state)
    assert values["applicant_name"] == "柯小满"
    assert values.get("applicant_id_number") in (BABY if BABY in said else None,)


def test_a_form_with_agent_fields_keeps_the_user_out_of_the_applicants(filler):
    state = filler.fill(_form("disability-services.yaml"),
                        [f"给俺娘申请护理补贴，俺娘叫柯桂芝，身份证{OLD}，俺是她闺女蔺芳，电话18087761234"])
    values = _values(state)
    assert values["applicant_name"] == "柯桂芝" and values["applicant_id_number"] == OLD
    assert values["agent_name"] == "蔺芳"
