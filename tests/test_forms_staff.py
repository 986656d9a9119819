"""Applications a company's staff make for an employee or for the company: a job word said of the speaker (我是公司会计)
makes them the 经办人, the same word of someone else (新来的出纳) names an employee, whose ID number then says the
application is for them; 他/她 in a later message means the employee named before. Names alone in their clause
before their number, with a surname that is also an everyday word (习) or that LAC reads as a solar term (谷雨).
Real filler and slot reader on the shipped forms; the wording is this file's own."""
from pathlib import Path

import pytest
import yaml

from agent.forms import SlotExtractor
from agent.forms.filler import FormFiller
from corpus.schema import MatterGuide, Scenario
from tests.conftest_prefill import make_id, role_values

ROOT = Path(__file__).resolve().parent.parent
SHANDONG = ROOT / "corpus/data/shandong"
WORKER = make_id("370602", "19910822", "415")
CLERK = make_id("370602", "19880105", "226")


def _load(path: str, model):
    return model.model_validate(yaml.safe_load((SHANDONG / path).read_text(encoding="utf-8"))).application_form


@pytest.fixture(scope="module")
def filler():
    return FormFiller()



@pytest.mark.parametrize("said", ["我是单位里的出纳苏婉", "我是公司财务，叫苏婉，"])
def test_a_job_word_said_of_the_speaker_makes_them_the_companys_agent(filler, said):
    form = _load("scenarios/enterprise-change.yaml", Scenario)
    state = filler.fill(form, [f"我们公司要改经营范围，青岛海澜贸易有限公司，{said}电话15866203317"])
    applicant = role_values(state, "applicant")
    assert applicant["name"] == "苏婉" and applicant["phone"] == "15866203317"
    assert "15866203317" not in role_values(state, "company").values()


def test_an_employee_named_by_their_job_is_whom_a_staff_member_applies_for(filler):
    """新来的出纳 is an employee; the ID number after 她 is hers, so the certificate is for her and the speaker
    (我是单位人事) fills the 受托人 fields."""
    form = _load("matters/criminal-record-certificate.yaml", MatterGuide)
    state = filler.fill(form, [f"单位新来的出纳程雪要开个无犯罪证明，她身份证{WORKER}，我是单位人事孔德明，手机13953372280"])
    assert next(f.value for f in state.fields if f.key == "applies_for") == "代他人办理"
    subject = role_values(state, "subject")
    assert subject["name"] == "程雪" and subject["id_number"] == WORKER
    agent = role_values(state, "agent")
    assert agent["name"] == "孔德明" and agent["phone"] == "13953372280"


def test_he_in_a_later_message_is_the_employee_named_before(filler):
    form = _load("scenarios/work-injury-benefits.yaml", Scenario)
    state = filler.fill(form, ["我在厂里管人事，我们职工邱志强干活时摔伤了", "单位想把工伤的手续一起办",
                               f"他身份证{WORKER}，我叫简红，电话18765530129"])
    employee = role_values(state, "employee")
    assert employee["name"] == "邱志强" and employee["id_number"] == WORKER
    assert WORKER not in role_values(state, "applicant").values()


@pytest.mark.parametrize("text,name", [
    (f"想办个灵活就业登记，习海波，{CLERK}，15248278095", "习海波"),  # 习: an everyday word as well
    (f"跑外卖的要登记一下，谷雨，{CLERK}，18315193049", "谷雨"),  # LAC reads 谷雨 as a solar term
])
def test_a_name_alone_in_its_clause_before_its_number(filler, text, name):
    form = _load("matters/flexible-employment-registration.yaml", MatterGuide)
    subject = role_values(filler.fill(form, [text]), "subject")
    assert subject["name"] == name and subject["id_number"] == CLERK


@pytest.mark.parametrize("text", [f"明天，身份证{CLERK}", f"红红火火，身份证{CLERK}", f"秋天到了，身份证{CLERK}",
                                  f"东西都带齐了，身份证{CLERK}"])
def test_time_words_and_phrases_are_no_name_even_alone(text):
    assert [s.value for s in SlotExtractor().extract(text) if s.type == "name"] == []
