"""Names as some people type them: a space after 叫 or after a family word (我叫 胡长水, 父亲 谷长明, 老娘叫 鞠秀云),
and a rare given name LAC cuts short after 叫 (胡长|水). Real slot extractor and filler, shipped forms, our own
sentences."""
from __future__ import annotations

from agent.forms.filler import FormFiller
from agent.forms.slots import SlotExtractor
from tests.conftest_prefill import guide_form, make_id, role_values

FATHER = make_id("370902", "19450301", "187")
MOTHER = make_id("370702", "19400519", "006")
ME = make_id("371702", "19660510", "251")

_FILLER = FormFiller()


def test_a_name_after_jiao_runs_to_the_end_of_its_clause():
    extract = SlotExtractor().extract
    assert [s.value for s in extract("我叫胡长水") if s.type == "name"] == ["胡长水"]
    assert [s.value for s in extract("他叫邵德厚，电话13972835411") if s.type == "name"] == ["邵德厚"]
    assert [s.value for s in extract("我叫王丽，电话13972835411") if s.type == "name"] == ["王丽"]


def test_a_space_after_my_name_cue_is_no_pause():
    state = _FILLER.fill(guide_form("matters/resident-pension-benefit.yaml"), [
        f"俺今年满六十了，想把领养老金的手续办了。{ME}，电话15475229643，俺叫 胡长水",
    ])
    values = {f.value for f in state.fields if f.value}
    assert {"胡长水", ME} <= values and "胡长" not in values


def test_a_space_after_a_family_word_keeps_the_name_theirs():
    state = _FILLER.fill(guide_form("matters/veteran-preferential-card.yaml"), [
        f"替我父亲申请优待证。父亲 谷长明，身份证{FATHER[:6]} {FATHER[6:10]} {FATHER[10:14]} {FATHER[14:]}，"
        "我 谷丽，电话156-5476-3027",
    ])
    assert role_values(state, "subject").items() >= {"name": "谷长明", "id_number": FATHER}.items()
    state = _FILLER.fill(guide_form("matters/severe-disability-nursing-allowance.yaml"), [
        "俺娘瘫在床上好几年了，想给她申请护理补贴",
        f"老娘叫 鞠秀云 身份证{MOTHER}",
        "我是她儿子 鞠强 电话15269593133",
    ])
    assert role_values(state, "subject").items() >= {"name": "鞠秀云", "id_number": MOTHER}.items()
