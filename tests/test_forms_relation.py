"""The user's relation to the person an application is for fills the form's relation fields (与学生关系, 承办人与逝者
关系, 代办人与办理对象关系) from what the conversation says: whom they apply for, the sex in their own ID number, what
they said they are; never a guess (a grandparent, or nobody named). Real filler, shipped forms, shipped words."""
from pathlib import Path

import pytest
import yaml

from agent.forms.filler import FormFiller
from agent.forms.relation import load_relation_words
from corpus.datafile import DataFileError
from corpus.schema import MatterGuide, Scenario
from tests.conftest_prefill import make_id

ROOT = Path(__file__).resolve().parent.parent
SHANDONG = ROOT / "corpus/data/shandong"
CHILD = make_id("370303", "20140926", "197")
WOMAN = make_id("370303", "19850430", "288")   # sequence digit even: 女
MAN = make_id("370303", "19830211", "293")     # odd: 男
OLD_MAN = make_id("370781", "19440716", "029")


def _form(path: str):
    data = yaml.safe_load((SHANDONG / path).read_text(encoding="utf-8"))
    model = Scenario if path.startswith("scenarios/") else MatterGuide
    guide = model.model_validate(data)
    return guide.form if path.startswith("scenarios/") else guide.application_form


@pytest.fixture(scope="module")
def filler():
    return FormFiller()


def value(state, label: str) -> str | None:
    return next(f.value for f in state.fields if f.label == label)


@pytest.mark.parametrize("speaker,expected", [(WOMAN, "母亲"), (MAN, "父亲")])
def test_a_parent_applying_for_their_child_is_its_father_or_mother_by_their_own_id(filler, speaker, expected):
    form = _form("scenarios/education-enrollment.yaml")
    state = filler.fill(form, [f"给我儿子报名上初中，儿子叫蒋博文，身份证{CHILD}", f"我叫吕倩，身份证{speaker}，电话18764317756"])
    assert value(state, "与学生关系") == expected
    assert "applicant_relation" not in state.missing


def test_a_grandparent_is_not_read_as_a_parent(filler):
    form = _form("scenarios/education-enrollment.yaml")
    state = filler.fill(form, [f"给我孙子报名上初中，孙子叫蒋博文，身份证{CHILD}，我叫蒋德，身份证{MAN}"])
    assert value(state, "与学生关系") is None and "applicant_relation" in state.missing


def test_nobody_named_leaves_the_relation_to_the_user(filler):
    form = _form("scenarios/education-enrollment.yaml")
    state = filler.fill(form, [f"我要报名上初中，我叫吕倩，身份证{WOMAN}，电话18764317756"])
    assert value(state, "与学生关系") is None


def test_the_child_of_the_deceased_is_their_子女(filler):
    form = _form("scenarios/after-death.yaml")
    state = filler.fill(form, [f"我父亲昨天去世了，父亲綦振海，身份证{OLD_MAN}。我叫綦永刚，身份证{MAN}，手机13791687720"])
    assert value(state, "承办人与逝者关系") == "子女"


def test_what_the_user_says_they_are_wins_over_the_sex_in_their_id(filler):
    form = _form("scenarios/education-enrollment.yaml")
    # 我是孩子的监护人 said by the speaker, whose ID is a man's: not 父亲
    state = filler.fill(form, [f"给孩子报名上初中，孩子叫蒋博文，身份证{CHILD}。我是孩子奶奶，叫刘芳，身份证{WOMAN}"])
    assert value(state, "与学生关系") == "其他监护人"


def test_an_unknown_role_in_the_file_is_an_error_naming_its_line(tmp_path):
    text = (ROOT / "agent/data/relations.yaml").read_text(encoding="utf-8").replace("  mother: [母亲]", "  mum: [母亲]")
    with pytest.raises(DataFileError, match=r"relations.yaml:\d+: of_identity.mum: unknown role 'mum'"):
        load_relation_words(ROOT / "agent/data/relations.yaml", text)


def test_a_代办人_text_field_takes_the_most_specific_word(filler):
    form = _form("matters/resident-id-card-renewal.yaml")
    mother = make_id("371326", "19650203", "112")
    state = filler.fill(form, [f"我母亲要换身份证，她叫郭秀英，身份证{mother}。我是她儿子郭振刚，身份证{MAN}，电话18152770485"])
    assert value(state, "代办人与办理对象关系") == "儿子"
