"""Pre-review (辅助审核) on the shipped newborn form and a shipped matter guide, filled by the real form filler from
messages: each seeded fault is found and tied to its field or material; a clean application passes."""
import datetime as dt
from pathlib import Path

import pytest
import yaml

from agent.forms.filler import FormFiller
from agent.forms.review import PreReviewer
from agent.forms.vocabulary import load_form_words
from corpus.schema import Form, MatterGuide
from tests.conftest_prefill import break_check, make_id, newborn_form

TODAY = dt.date(2026, 12, 3)
MOM = make_id("370203", "19930422", "674")
DAD = make_id("370203", "19910105", "113")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def filler():
    return FormFiller()


@pytest.fixture(scope="module")
def reviewer():
    return PreReviewer(load_form_words().review)


CLEAN = (f"我是孩子妈妈孙晓雯，身份证{MOM}，手机13869125537。孩子爸爸王强，身份证{DAD}。"
         "宝宝叫王子墨，男孩，2026年11月15日在青岛市妇女儿童医院出生，随父落户，落户地址青岛市市南区香港中路10号。")
ANSWERS = {"hukou-place": "in-province", "mother-insurance": "resident"}


def review(filler, reviewer, text, answers=ANSWERS):
    scenario, form = newborn_form()
    state = filler.fill(form, [text], answers=answers, guide_id=scenario.id, today=TODAY)
    return state, reviewer.review(form, state, scenario, answers, today=TODAY)


def test_a_complete_application_passes_and_lists_what_to_bring(filler, reviewer):
    state, result = review(filler, reviewer, CLEAN)
    assert state.missing == [], state.missing
    assert result.status == "pass", [i.message for i in result.fixes]
    assert result.exempt, "the guide's shared-data materials are 免提交"
    assert all(i.severity == "prepare" and i.target == "material" for i in result.items)


def test_a_future_birth_date_is_a_fix_on_that_field(filler, reviewer):
    _, result = review(filler, reviewer, CLEAN.replace("2026年11月15日", "2027年1月15日"))
    assert result.status == "needs_correction"
    assert [i.key for i in result.fixes] == ["baby_birth_date"]
    assert "晚于今天" in result.fixes[0].message


def test_a_wrong_check_digit_says_which_part(filler, reviewer):
    _, result = review(filler, reviewer, CLEAN.replace(MOM, break_check(MOM)))
    keys = {i.key for i in result.fixes}
    assert "applicant_id_number" in keys
    assert any("校验" in i.message for i in result.fixes)


def test_an_open_situation_question_is_asked_before_submitting(filler, reviewer):
    _, result = review(filler, reviewer, CLEAN, answers={"hukou-place": "in-province"})
    assert any(i.target == "situation" and i.key == "mother-insurance" for i in result.fixes)


def test_declared_checks_and_identity_consistency():
    """A guide's declared age check, and a typed birth date and gender that contradict the same person's ID."""
    form = Form.model_validate({
        "id": "test-form", "title": "测试申请表",
        "fields": [
            {"key": "subject_name", "label": "申请人姓名", "type": "text", "role": "subject", "required": True},
            {"key": "subject_id_number", "label": "申请人身份证号", "type": "id_number", "role": "subject",
             "required": True},
            {"key": "subject_birth_date", "label": "申请人出生日期", "type": "date", "role": "subject"},
            {"key": "subject_gender", "label": "申请人性别", "type": "enum", "options": ["男", "女"], "role": "subject"},
        ],
        "checks": [{"kind": "age", "field": "subject_id_number", "min": 60,
                    "message": "申请人需年满60周岁"}]})
    guide = MatterGuide.model_validate(yaml.safe_load(
        (ROOT / "corpus/data/shandong/matters/resident-pension-benefit.yaml").read_text(encoding="utf-8")))
    young = make_id("370102", "19900307", "123")  # a man born 1990-03-07
    state = FormFiller().fill(form, [f"我叫周建国，身份证{young}，出生日期1990年3月8日，性别女"], today=TODAY)
    result = PreReviewer(load_form_words().review).review(form, state, guide, {}, today=TODAY)
    messages = {i.key: i.message for i in result.fixes}
    assert set(messages) >= {"subject_id_number", "subject_birth_date", "subject_gender"}, messages
    assert messages["subject_id_number"] == "申请人需年满60周岁"
    assert "出生日期" in messages["subject_birth_date"] and "1990" not in messages["subject_birth_date"]
    # the form has no place for the guide's two 情形: nothing to choose, each 情形's own materials named with it
    assert not any(i.target == "situation" for i in result.items)
    prepare = {i.key: i.message for i in result.items if i.target == "material"}
    assert "（缴费年限不足15年时）" in prepare["补缴申请表"], prepare


def test_a_check_naming_an_unknown_field_is_rejected():
    with pytest.raises(ValueError, match="not in the form"):
        Form.model_validate({"id": "test-f", "title": "t", "fields": [
            {"key": f"k{i}", "label": "x", "type": "text"} for i in range(3)],
            "checks": [{"kind": "not_future", "field": "death_date", "message": "死亡日期不能晚于今天"}]})
