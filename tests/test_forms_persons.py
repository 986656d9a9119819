"""Whose values are whose when someone applies for a relative: the relative whose ID number is given is whom the
application is for, in dialect too (俺娘), across messages (他 in the next message), and the speaker who says what
they are to that person (我是她儿) fills the 代办人 fields. Real filler, the shipped ID-card renewal form."""
from pathlib import Path

import pytest
import yaml

from agent.forms.filler import FormFiller
from corpus.schema import MatterGuide
from tests.conftest_prefill import make_id

ROOT = Path(__file__).resolve().parent.parent
MOTHER = make_id("371326", "19650203", "112")
FATHER = make_id("370323", "19600120", "529")
SELLER = make_id("370102", "19730514", "266")


@pytest.fixture(scope="module")
def form():
    guide = MatterGuide.model_validate(yaml.safe_load(
        (ROOT / "corpus/data/shandong/matters/resident-id-card-renewal.yaml").read_text(encoding="utf-8")))
    return guide.application_form


def by_role(state) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for f in state.fields:
        if f.value and f.role:
            out.setdefault(f.role, {})[f.type if f.type != "text" else f.key.rsplit("_", 1)[-1]] = f.value
    return out


@pytest.mark.parametrize("texts", [
    [f"俺娘叫郭秀英，身份证{MOTHER}，给她换个身份证，俺是她儿郭振刚，电话18152770485"],
    [f"我母亲要换身份证，她叫郭秀英，身份证{MOTHER}。我是她儿子郭振刚，电话18152770485"],
])
def test_the_relative_with_the_id_number_is_the_subject_and_the_speaker_the_agent(form, texts):
    roles = by_role(FormFiller().fill(form, texts))
    assert roles["subject"]["name"] == "郭秀英" and roles["subject"]["id_number"] == MOTHER
    assert roles["agent"]["name"] == "郭振刚" and roles["agent"]["phone"] == "18152770485"


def test_he_in_the_next_message_is_the_relative_named_before(form):
    state = FormFiller().fill(form, ["我爸的身份证到期了", f"要换新的，他叫魏春生，身份证{FATHER}",
                                     "我叫魏欣，是他女儿，电话13244596234"])
    roles = by_role(state)
    assert roles["subject"] == {**roles["subject"], "name": "魏春生", "id_number": FATHER}
    assert roles["agent"]["name"] == "魏欣"


def test_someone_elses_number_that_is_not_family_does_not_make_them_the_subject(form):
    """A seller's ID (卖方) is not a relative's: the application stays the user's own."""
    state = FormFiller().fill(form, [f"我叫张明，身份证{make_id()}，卖方身份证{SELLER}"])
    assert next(f.value for f in state.fields if f.key == "applies_for") == "本人办理"
    assert by_role(state)["subject"]["name"] == "张明"


@pytest.mark.parametrize("texts", [
    [f"身份证快到期了要换，蒋文博，身份证{FATHER}，电话13562218890"],  # no 我叫: a name alone before its number
    [f"换身份证，材料寄到单位，蒋文博，身份证{FATHER}"],  # 单位 before the name is not whose the name is
])
def test_values_said_with_no_person_word_are_the_applicants_own(form, texts):
    """The form's 公民身份号码 shares fewer words with "身份证" than 代办人身份证号 does; that is no reason to make
    the user their own 代办人: words that only say what a number is tell no field from another."""
    state = FormFiller().fill(form, texts)
    roles = by_role(state)
    assert roles["subject"]["name"] == "蒋文博" and roles["subject"]["id_number"] == FATHER
    assert "agent" not in roles


def _form_of(path: str):
    guide = MatterGuide.model_validate(yaml.safe_load((ROOT / path).read_text(encoding="utf-8")))
    return guide.application_form


WIFE = make_id("371725", "19940612", "670")


def test_the_speaker_who_is_the_spouse_is_never_the_subject_of_an_application_for_the_spouse():
    form = _form_of("corpus/data/shandong/matters/resident-medical-insurance-enrollment.yaml")
    state = FormFiller().fill(form, ["想给我爱人交今年的居民医保", f"她叫苗雨桐，身份证{WIFE}", "我是她老公房振东，手机13505318866"])
    roles = by_role(state)
    assert roles["subject"]["name"] == "苗雨桐" and roles["subject"]["id_number"] == WIFE
    assert "房振东" not in roles["subject"].values()
    assert "房振东" in [f.value for f in state.fields if f.role in ("agent", "guardian")]


def test_the_speakers_own_values_fill_the_fields_of_the_role_they_hold():
    """我媳妇…投靠我: the husband's name fills the 被投靠配偶 (spouse) fields, which a husband fits."""
    form = _form_of("corpus/data/shandong/matters/spouse-hukou-migration.yaml")
    state = FormFiller().fill(form, [f"我媳妇户口要迁过来投靠我，她叫苗雨桐，身份证{WIFE}，我叫房振东，电话13505318866"])
    roles = by_role(state)
    assert roles["subject"]["name"] == "苗雨桐" and roles["spouse"]["name"] == "房振东"


def test_a_grandparent_who_died_fills_the_deceased_fields_and_the_grandchild_the_declarers():
    form = _form_of("corpus/data/shandong/matters/household-registration-cancellation.yaml")
    grandma = make_id("371402", "19340909", "312")
    state = FormFiller().fill(form, [f"姥姥上个月去世了，要把户口注销。姥姥叫韩桂芝，身份证{grandma}，我是她外孙邵明杰，电话15578115071"])
    roles = by_role(state)
    assert roles["deceased"]["name"] == "韩桂芝" and roles["deceased"]["id_number"] == grandma
    assert roles["applicant"]["name"] == "邵明杰"  # 申报人: the one who declares, never the deceased
