"""Whom an application is for, across a conversation: once the user says it (孩子…身份证…), it holds from the first
message (我孙子… said before); the form's own word for that person (受伤害职工 on a 工伤 form) takes the relative's
values (俺儿…他身份证…); 俺 says 我. Real filler and slot reader on the shipped forms; wording of our own."""

import pytest

from agent.forms import SlotExtractor
from agent.forms.filler import FormFiller
from tests.conftest_prefill import guide_form, make_id, role_values

NEPHEW = make_id("370613", "20140903", "351")
SON = make_id("370682", "19960411", "273")




def test_whom_it_is_for_holds_from_the_first_message():
    """The grandson is named before anything says the application is his; his ID number a message on does."""
    state = FormFiller().fill(guide_form("matters/disability-certificate.yaml"), [
        "我孙子邢子墨，他爸妈都不在了，我是他的监护人", f"孩子是智力残疾，想办残疾证，身份证{NEPHEW}",
        "我叫邢建国，电话13705461128"])
    subject = role_values(state, "subject")
    assert subject["name"] == "邢子墨" and subject["id_number"] == NEPHEW
    assert role_values(state, "agent")["name"] == "邢建国"


def test_the_forms_own_word_for_the_subject_takes_the_relatives_values():
    state = FormFiller().fill(guide_form("matters/work-injury-recognition.yaml"), [
        "俺儿子在工地上摔断了腿", "俺替他申请认定工伤", f"他叫田志飞，身份证{SON}，俺是他娘吴桂兰，电话15269830417"])
    employee = role_values(state, "employee")
    assert employee["name"] == "田志飞" and employee["id_number"] == SON
    assert role_values(state, "agent")["name"] == "吴桂兰"


@pytest.mark.parametrize("text,relation", [("俺是她奶奶，电话13705461128", "guardian"),
                                           ("俺是孩子他爸，电话13705461128", "father")])
def test_an_says_i(text, relation):
    assert {s.value for s in SlotExtractor().extract(text) if s.type == "relation"} == {relation}
