"""A 12345 operator's note read as the caller's own words (agent/wording.py ``as_caller``, ``caller:`` in
agent/data/wording.yaml): 来电人 is the speaker, 其母 / 称女儿 before a name is the caller's family member the call is
about, and the caller's own numbers (来电人电话…) stay the speaker's. Real filler and slot reader on the shipped
forms; notes of our own."""

import pytest

from agent.forms.filler import FormFiller
from agent.wording import Wording
from tests.conftest_prefill import guide_form, make_id, newborn_form, role_values

FATHER = make_id("370702", "19440312", "531")
CALLER = make_id("370702", "19700805", "242")
WORKER = make_id("370203", "19850617", "415")




@pytest.fixture(scope="module")
def wording():
    return Wording()


@pytest.mark.parametrize("note,caller", [
    ("来电人郑玉兰，称其父郑德顺腿脚不便", "我郑玉兰，称我父亲郑德顺腿脚不便"),
    ("来电人系某食品厂人事孙悦，电话13605328817", "我是某食品厂人事孙悦，电话13605328817"),
    ("来电人为其母亲办理", "我为我母亲办理"),          # 为 before whom it is done for is "for", not "is"
    ("来电者称女儿要报名", "我称我女儿要报名"),
    ("来电人称其子女均在外地", "我称我子女均在外地"),  # the longest family word: 子女 is not 儿子 + 女
])
def test_a_note_reads_as_the_callers_words(wording, note, caller):
    assert wording.is_operator_note(note)
    assert wording.as_caller(note) == caller


def test_outside_a_note_nothing_changes(wording):
    assert not wording.is_operator_note("市民卡丢了怎么补")             # a speaker word inside a longer word
    assert wording.as_caller("市民卡丢了怎么补") == "市民卡丢了怎么补"
    assert wording.as_caller("其他材料要带吗", note=True) == "其他材料要带吗"  # 其 before no family word
    assert wording.as_caller("称其女儿", note=False) == "称其女儿"           # 其 is read only in a note


def test_the_caller_is_the_speaker_and_the_named_parent_the_subject():
    state = FormFiller().fill(guide_form("matters/disability-certificate.yaml"), [
        f"来电人郑玉兰，称其父郑德顺前年中风后右侧偏瘫，想给老人办残疾证，要求办理。老人身份证{FATHER}，"
        f"来电人身份证{CALLER}，电话13605328817。"])
    subject = role_values(state, "subject")
    assert subject["name"] == "郑德顺" and subject["id_number"] == FATHER
    agent = role_values(state, "agent")
    assert agent["name"] == "郑玉兰" and agent["phone"] == "13605328817"
    assert "来电人" not in {f.value for f in state.fields}


def test_a_caller_at_a_named_business_applies_for_its_worker():
    state = FormFiller().fill(guide_form("matters/work-injury-recognition.yaml"), [
        "来电人系某食品厂人事孙悦，电话13605328817",
        f"称本厂职工鲍建军上月在车间被机器轧伤手指，单位为其申请工伤认定。职工身份证{WORKER}"])
    employee = role_values(state, "employee")
    assert employee["name"] == "鲍建军" and employee["id_number"] == WORKER
    speaker = {f.value for f in state.fields if f.value and f.role in ("applicant", "agent")}
    assert {"孙悦", "13605328817"} <= speaker


def test_the_name_given_to_a_newborn_is_the_childs():
    state = FormFiller().fill(newborn_form()[1], [
        f"来电人聂远航称其妻上周在市妇幼保健院生了一个女孩，取名聂思语，要求办理出生医学证明。来电人身份证{CALLER}"])
    names = {f.role: f.value for f in state.fields if f.value == "聂思语" or f.value == "聂远航"}
    assert names.get("child") == "聂思语", names


RESIDENT = make_id("371302", "19700918", "415")


def test_a_resident_named_by_a_grid_worker_is_whom_the_application_is_for():
    """辖区居民X: the one a 网格员 helps, named by the word for them (居民), is the person the form is about, though
    their number comes in a sentence of its own; 居民身份证 is the card's name and names no one."""
    form = guide_form("matters/minimum-living-security.yaml")
    state = FormFiller().fill(form, [
        f"我是街道网格员周敏，电话13564348300。辖区居民韩宝山，家里困难，给他报低保。身份证号：{RESIDENT}"])
    subject = role_values(state, "subject")
    assert subject["name"] == "韩宝山" and subject["id_number"] == RESIDENT
    assert next(f.value for f in state.fields if f.key == "applies_for") == "代他人办理"
    # 我是他们邻居，叫X: X is the speaker, though 邻居 is a word for the one helped; with nobody else named, the
    # form is not made out to X as someone the speaker applies for
    helper = FormFiller().fill(form, ["邻居家老两口困难，想给他们报低保。我是他们邻居，叫阮静，电话13723981564"])
    assert next(f.value for f in helper.fields if f.key == "applies_for") == "本人办理"
    own = FormFiller().fill(form, [f"我要申请低保，我叫王红梅，我的居民身份证号{RESIDENT}"])
    assert role_values(own, "subject")["name"] == "王红梅"
    assert next(f.value for f in own.fields if f.key == "applies_for") == "本人办理"
