"""Personal data said bare: numbers read across any grouping (spaces, dashes, commas between spoken groups) when
the groups add up to an ID number or mobile whose checks hold, and a name said bare beside the user's numbers or
alone as a message. Real LAC, jionlp and the shipped surname data; the IDs are built here from the standard."""
from __future__ import annotations

import datetime as dt

from agent.forms import FormFiller, SlotExtractor
from agent.normalize import Normalizer
from agent.privacy import find_numbers
from agent.status import receipt_candidates
from agent.zh.groups import join_groups
from agent.zh.ids import checked_number
from agent.zh.numerals import spoken_digits_to_digits
from tests.conftest_prefill import break_check, make_id, newborn_form

TODAY = dt.date(2026, 11, 23)
_EXTRACTOR = SlotExtractor()
ID = make_id("370211", "19880726", "413")
BAD_ID = break_check(ID)
X_ID = next(i for i in (make_id("370305", "19920311", f"{n:03d}") for n in range(1000)) if i.endswith("X"))
_SAID = "零幺二三四五六七八九"


def said(digits: str) -> str:
    return "".join(_SAID[int(c)] for c in digits)


def typed(text: str) -> list[tuple[str, str]]:
    return [(s.type, s.value) for s in _EXTRACTOR.extract(text, TODAY)]


def test_groups_join_only_into_numbers_whose_checks_hold():
    groups = [ID[:6], ID[6:10], ID[10:14], ID[14:], "139", "0531", "7788"]
    assert join_groups(groups, checked_number) == [(0, 4, "id_number"), (4, 7, "phone")]
    bad = [BAD_ID[:6], BAD_ID[6:10], BAD_ID[10:14], BAD_ID[14:]]
    assert join_groups(bad, checked_number) == []  # the check digit is off: no ID number read across the groups
    assert checked_number(ID) == "id_number" and checked_number("13905317788") == "phone"
    assert checked_number("12905317788") is None and checked_number(BAD_ID) is None


def test_spoken_groups_between_commas_become_digits_with_the_same_offsets():
    text = f"身份证{said(ID[:6])}，{said(ID[6:10])}，{said(ID[10:14])}，{said(ID[14:])}。"
    read = spoken_digits_to_digits(text)
    assert len(read) == len(text) and read == f"身份证{ID[:6]} {ID[6:10]} {ID[10:14]} {ID[14:]}。"
    wrong = f"身份证{said(BAD_ID[:6])}，{said(BAD_ID[6:10])}，{said(BAD_ID[10:14])}，{said(BAD_ID[14:])}"
    assert spoken_digits_to_digits(wrong) == wrong  # short groups whose sum is no valid number stay words
    assert spoken_digits_to_digits("一，二，三，四") == "一，二，三，四"


def test_an_id_said_in_groups_is_one_id_number_and_is_masked():
    text = f"我爸身份证号{said(ID[:6])}，{said(ID[6:14])}，{said(ID[14:])}，电话一三九 零五三一 七七八八"
    assert typed(text)[-2:] == [("id_number", ID), ("phone", "13905317788")]
    ids = [f for f in find_numbers(text) if f.kind == "id"]
    assert ids and text[ids[0].start:ids[0].end].startswith(said(ID[:6]))


def test_unlabelled_numbers_in_groups_split_where_the_checks_hold():
    spaced = f"{ID[:6]} {ID[6:10]} {ID[10:14]} {ID[14:]} 139 0531 7788"
    assert typed(f"请帮我办 {spaced}") == [("id_number", ID), ("phone", "13905317788")]
    dashed = f"{ID[:6]}-{ID[6:10]}-{ID[10:14]}-{ID[14:]} 139-0531-7788"
    assert typed(dashed) == [("id_number", ID), ("phone", "13905317788")]
    lower = f"{X_ID[:6]} {X_ID[6:10]} {X_ID[10:14]} {X_ID[14:].lower()} 139 0531 7788"
    assert typed(lower) == [("id_number", X_ID), ("phone", "13905317788")]
    # a cue for an ID number before a run longer than any number does not swallow the phone after it
    assert typed(f"身份证 {spaced}") == [("id_number", ID), ("phone", "13905317788")]
    assert typed(f"银行卡号 {ID[:6]} {ID[6:10]} {ID[10:14]} {ID[14:]}") == []


def test_a_name_said_bare_after_the_numbers_is_a_name():
    spaced = f"{ID[:6]} {ID[6:10]} {ID[10:14]} {ID[14:]}  139 0531 7788  "
    assert ("name", "车一鸣") in typed(spaced + "车一鸣")
    assert ("name", "窦岚") in typed(f"13905317788，窦岚")
    for tail in ("谢谢您", "万分感谢", "文件", "尽快", "常联系"):
        assert "name" not in [t for t, _ in typed(f"13905317788 {tail}")], tail


def test_a_dashed_id_or_phone_is_never_a_receipt_number():
    assert receipt_candidates(f"{ID[:6]}-{ID[6:10]}-{ID[10:14]}-{ID[14:]} 139-0531-7788") == []
    assert receipt_candidates("受理编号SD-2026-0042") == ["SD-2026-0042"]


def test_a_message_that_is_only_a_name_is_personal_data():
    norm = Normalizer(names=_EXTRACTOR.name_spans)
    assert norm.run("裴晓帆").name_only and norm.run("裴晓帆。").has_personal_data
    for text in ("高考", "社保", "王府井", "谢谢", "好的"):
        assert not norm.run(text).name_only, text
    dashed = norm.run(f"帮我接上 {ID[:6]}-{ID[6:10]}-{ID[10:14]}-{ID[14:]}")
    assert dashed.identifiers and f"{ID[:6]} {ID[6:10]}" in dashed.focused  # dashes in a number read as its groups


def test_a_name_alone_then_the_numbers_fill_the_applicant():
    _, form = newborn_form()
    texts = ["裴晓帆", f"{ID[:6]} {ID[6:14]} {ID[14:]}", "139 0531 7788"]
    state = FormFiller().fill(form, texts, today=TODAY)
    got = {f.key: f.value for f in state.fields}
    assert got["applicant_name"] == "裴晓帆" and got["applicant_id_number"] == ID
    assert got["applicant_phone"] == "13905317788"


def test_an_id_whose_check_character_is_said_as_cha_ends_in_x():
    body = said(X_ID[:-1])
    assert typed(f"老伴身份证{body}叉 电话139 0531 7788") == [("id_number", X_ID), ("phone", "13905317788")]
    grouped = f"{said(X_ID[:6])} {said(X_ID[6:10])} {said(X_ID[10:14])} {said(X_ID[14:17])}叉，我电话139 0531 7788"
    assert ("id_number", X_ID) in typed(grouped)
    # 叉 ends no run but the 18th character, and is never read inside a word
    assert spoken_digits_to_digits("幺三九零五三幺七七八八叉车") == "13905317788叉车"
    assert spoken_digits_to_digits("仓库里三台叉车") == "仓库里三台叉车"
