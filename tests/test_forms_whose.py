"""Whose value is whose when the speaker gives data for themself and another person (issue 16): a person word right
before a name (儿子 X, 家长 Y), the speaker naming themself after what they are to the subject (我是她丈夫，X), the
speaker who helps someone outside the family (网格员), and a part of a number corrected in the same message. Real
filler and slot extractor, shipped forms; sentences of our own."""
from pathlib import Path

import pytest
import yaml

from agent.forms.filler import FormFiller
from agent.forms.slots import SlotExtractor
from corpus.schema import MatterGuide, Scenario
from tests.conftest_prefill import break_check, make_id

ROOT = Path(__file__).resolve().parent.parent
CHILD = make_id("370602", "20150311", "523")
PARENT = make_id("370602", "19860704", "284")
OLD = make_id("371502", "19420105", "351")
WIFE = make_id("371725", "19940612", "670")
HUSBAND = make_id("370102", "19920817", "291")


def _form(path: str, kind=MatterGuide):
    return kind.model_validate(yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))).application_form


def _values(state) -> dict[str, str]:
    return {f.key: f.value for f in state.fields if f.value}


@pytest.fixture(scope="module")
def slots():
    return SlotExtractor()


def _roles(slots, text: str) -> dict[str, str | None]:
    return {s.value: s.role for s in slots.extract(text) if s.type in ("name", "id_number", "phone")}


def test_a_person_word_followed_by_a_space_names_the_person_after_it(slots):
    roles = _roles(slots, f"女儿 葛欣然 {CHILD}；家长 龚丽 {PARENT} 电话 13605351122")
    assert roles["葛欣然"] == roles[CHILD] == "child"
    assert roles["龚丽"] == roles[PARENT] == roles["13605351122"] == "guardian"


def test_the_name_after_what_the_user_says_they_are_is_theirs(slots):
    roles = _roles(slots, f"我是她丈夫，房振东，电话13505318866，身份证{HUSBAND}")
    assert roles["房振东"] == roles["13505318866"] == roles[HUSBAND] == "husband"


def test_the_person_the_user_says_they_are_related_to_is_not_the_user(slots):
    found = slots.extract("我是苗雨桐的老公，房振东，电话13505318866")
    assert {s.value: s.role for s in found if s.type == "name"} == {"苗雨桐": None, "房振东": "husband"}
    assert [s.value for s in found if s.type == "relation"] == ["husband"]


def test_the_user_names_themself_right_after_i(slots):
    """羊帆 is a name LAC reads as a noun: right after 我 and before the user's number it is their name."""
    roles = _roles(slots, f"我羊帆，{HUSBAND}，13505318866")
    assert roles["羊帆"] == roles[HUSBAND] == "applicant"


def test_the_same_job_word_again_is_the_user_another_one_is_an_employee(slots):
    assert _roles(slots, f"我是公司出纳，出纳姓名：葛欣然，身份证{PARENT}")["葛欣然"] == "agent"
    assert _roles(slots, f"我是公司出纳，新来的会计葛欣然，身份证{PARENT}")["葛欣然"] == "staff"


def test_an_id_number_after_a_phone_word_is_still_an_id_number_when_mistyped(slots):
    wrong = break_check(HUSBAND)
    assert [s.type for s in slots.extract(f"我叫房振东，号码{wrong}") if s.value == wrong] == ["id_number"]


def test_a_mother_who_names_herself_is_the_guardian_not_the_new_name():
    form = _form("corpus/data/shandong/matters/name-change-registration.yaml")
    state = FormFiller().fill(form, [f"孩子想改名，孩子身份证{CHILD}，我是他妈妈龚丽，电话13605351122"])
    values = _values(state)
    assert values["guardian_name"] == "龚丽" and values["subject_id_number"] == CHILD
    assert values.get("new_name") != "龚丽"


def test_the_user_applying_for_their_wife_fills_the_spouse_fields_with_their_own_values():
    form = _form("corpus/data/shandong/matters/spouse-hukou-migration.yaml")
    state = FormFiller().fill(form, ["媳妇的户口要迁到我这边", f"她叫苗雨桐，{WIFE}", f"我房振东，{HUSBAND}，13505318866"])
    values = _values(state)
    assert values["subject_name"] == "苗雨桐" and values["subject_id_number"] == WIFE
    assert values["spouse_name"] == "房振东" and values["spouse_id_number"] == HUSBAND


def test_a_helper_outside_the_family_applies_for_the_person_they_name():
    form = _form("corpus/data/shandong/matters/special-hardship-support.yaml")
    state = FormFiller().fill(form, [f"我是社区的网格员，想帮他申请救助。老人叫葛长顺，身份证{OLD}。"
                                     f"我叫龚丽，身份证{PARENT}，手机13605351122"])
    values = _values(state)
    assert values["subject_name"] == "葛长顺" and values["subject_id_number"] == OLD
    assert values["agent_name"] == "龚丽" and values["agent_id_number"] == PARENT
    assert values["agent_phone"] == "13605351122"


def test_an_agent_named_with_an_employee_applies_for_the_employee():
    form = _form("corpus/data/shandong/scenarios/retirement.yaml", Scenario)
    state = FormFiller().fill(form, [f"单位老员工要退休了。职工葛长顺，{OLD}；经办人龚丽，电话13605351122"])
    values = _values(state)
    assert values["applicant_name"] == "葛长顺" and values["applicant_id_number"] == OLD


def test_a_part_corrected_in_the_same_message_corrects_the_number_said_before_it():
    form = _form("corpus/data/shandong/matters/resident-id-card-renewal.yaml")
    head = HUSBAND[:-1]
    wrong = head + ("0" if HUSBAND[-1] != "0" else "1")
    state = FormFiller().fill(form, [f"我叫房振东，身份证{wrong}，哦不对，最后一位是{HUSBAND[-1]}，电话13505318866"])
    assert _values(state)["subject_id_number"] == HUSBAND


def test_a_part_correction_may_say_it_was_wrong_before_the_new_digits():
    form = _form("corpus/data/shandong/matters/resident-id-card-renewal.yaml")
    wrong = HUSBAND[:-4] + "0000"
    state = FormFiller().fill(form, [f"我叫房振东，身份证{wrong}", f"身份证后四位我写错了，应该是{HUSBAND[-4:]}"])
    assert _values(state)["subject_id_number"] == HUSBAND


@pytest.mark.parametrize("texts, phone", [
    # the child's own phone, said with the child, is the graduate's contact even when the mother's follows it
    ([f"孩子的信息：黎思远，身份证{CHILD}，手机19853271146。我是他妈妈申丽华，电话13562179803"], "19853271146"),
    # the same over two messages
    ([f"孩子的信息：黎思远，身份证{CHILD}，手机19853271146。", "我是他妈妈申丽华，电话13562179803，我来帮他弄"],
     "19853271146"),
    # the child's phone said after the mother's
    ([f"帮我儿子黎思远办报到，身份证{CHILD}。我是他妈妈申丽华，电话13562179803", "他手机19853271146"],
     "19853271146"),
    # without it, the mother who applies is who they call
    ([f"帮我儿子黎思远办报到，身份证{CHILD}，我是他妈妈申丽华，电话13562179803"], "13562179803"),
])
def test_on_a_form_of_its_applicant_alone_the_applied_for_persons_own_phone_is_the_contact(texts, phone):
    """A form with only the applicant's fields (就业报到), applied for by a mother: the name and ID number are the
    son's, and so is the phone when his is said; hers stands in for it only when it is not."""
    state = FormFiller().fill(_form("corpus/data/shandong/scenarios/graduate-employment.yaml", Scenario), texts)
    values = _values(state)
    assert values["applicant_name"] == "黎思远" and values["applicant_id_number"] == CHILD
    assert values["applicant_phone"] == phone


TODDLER = make_id("370203", "20230615", "758")
GRANDMA = make_id("370203", "19580615", "762")


@pytest.mark.parametrize("texts, child_id, guardian_id", [
    # the child's number on its own, the message after her name: a three-year-old is not the one typing
    (["孙女三岁了，该送幼儿园了，她叫夏雨桐", f"身份证{TODDLER}", "我电话19937363378"], TODDLER, None),
    # the grandmother's own number said bare stays hers
    (["孙女三岁了，该送幼儿园了，她叫夏雨桐", f"身份证{GRANDMA}", "我电话19937363378"], None, GRANDMA),
    (["孙女叫夏雨桐，该上幼儿园了", f"{TODDLER}", f"我是她奶奶，身份证{GRANDMA}"], TODDLER, GRANDMA),
])
def test_a_bare_id_number_of_a_young_child_is_the_childs(texts, child_id, guardian_id):
    """An ID number said with no one's word belongs to the user, unless its birth date says its holder is a
    child too young to be typing (roles.yaml youngest_speaker): then it is the person the application is for."""
    state = FormFiller().fill(_form("corpus/data/shandong/scenarios/kindergarten-enrollment.yaml", Scenario), texts)
    values = _values(state)
    assert values.get("child_id_number") == child_id and values.get("applicant_id_number") == guardian_id, values


def test_a_young_childs_number_said_with_her_pronoun_stays_with_the_person_named():
    """她现在叫X，…身份证<a 12-year-old's>: the pronoun names whose it is before the age rule does, so the name and
    the number stay together (the applied-for daughter's)."""
    girl = make_id("370102", "20140312", "220")
    state = FormFiller().fill(_form("corpus/data/shandong/matters/name-change-registration.yaml"), [
        "我想给闺女改个名", f"她现在叫连子萱，想改成连思语，身份证{girl}", "我是她妈妈连海燕，电话18606312347"])
    values = _values(state)
    assert values.get("subject_name") == "连子萱" and values.get("subject_id_number") == girl, values
