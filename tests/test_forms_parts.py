"""Corrections of part of a number, as people say them: which number (the kind named, else the number said last),
which part (前/后/中间 N位, 最后一位, 倒数第N位, 第N个数), the new digits (spoken 幺/两/洞, x), a number one digit
short completed, and a whole new number said right after a correction replacing the old one. Real part reader,
slot extractor and filler over shipped forms; sentences of our own."""
from pathlib import Path

import pytest
import yaml

from agent.forms.filler import FormFiller
from agent.forms.numbers import NumberReader
from agent.forms.parts import Part, PartReader, splice
from agent.forms.vocabulary import default_vocabulary
from corpus.schema import MatterGuide, Scenario
from tests.conftest_prefill import make_id

ROOT = Path(__file__).resolve().parent.parent
SPOKEN = dict(zip("0123456789X", "洞幺两三四五六七八九x"))
# an ID number whose check digit is X: a number one short of it is completed by 最后一位是x
WITH_X = next(i for i in (make_id("370214", "19881105", f"{n:03d}") for n in range(1000)) if i.endswith("X"))
OTHER = make_id("370102", "19580621", "317")
MINE = make_id("370305", "19900214", "026")


def _spoken(number: str) -> str:
    return "".join(SPOKEN[c] for c in number)


def _form(path: str, kind=MatterGuide):
    return kind.model_validate(yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))).application_form


def _values(state) -> dict[str, str]:
    return {f.key: f.value for f in state.fields if f.value}


@pytest.fixture(scope="module")
def reader() -> PartReader:
    words = default_vocabulary().words
    return PartReader(words, NumberReader(words))


@pytest.fixture(scope="module")
def filler() -> FormFiller:
    return FormFiller()


def _only(reader: PartReader, text: str) -> Part:
    parts = reader.find(text)
    assert len(parts) == 1, parts
    return parts[0]


def test_spoken_digits_after_a_side_word_are_read(reader):
    part = _only(reader, "不对，手机号后四位是两洞幺九")
    assert (part.kind, part.side, part.digits) == ("phone", "last", "2019")
    assert splice("13905316688", part) == "13905312019"


def test_the_middle_digits_of_a_phone_are_its_fourth_to_seventh(reader):
    part = _only(reader, "电话中间四位我念错了，应该是2468")
    assert part.side == "middle"
    assert splice("13905316688", part) == "13924686688"


def test_a_digit_counted_from_the_end(reader):
    part = _only(reader, "身份证倒数第三位应为7")
    assert (part.side, part.at, part.digits) == ("from_end", 3, "7")
    assert splice("370102195806213170", part) == "370102195806213770"


def test_the_nth_digit_said_as_a_count_with_a_correction(reader):
    part = _only(reader, "手机幺三九零五三幺六六八八，哦第四个数不对，是八")
    assert (part.kind, part.side, part.at, part.digits) == ("phone", "at", 4, "8")


def test_a_count_of_things_is_no_digit(reader):
    assert reader.find("家里三个孩子，第二个是三岁") == []
    assert reader.find("电话最后一位是一样的") == []


def test_a_whole_number_after_the_part_words_is_not_a_part(reader):
    assert reader.find("电话后三位打错了，是13905316688") == []


def test_a_number_one_digit_short_is_completed_not_changed():
    short = WITH_X[:-1]
    assert splice(short, Part("id_number", "last", "X", 0), 18) == WITH_X
    assert splice(WITH_X, Part("id_number", "last", "5", 0), 18) == WITH_X[:-1] + "5"


def test_a_seventeen_digit_id_is_completed_by_a_later_last_digit(filler):
    form = _form("corpus/data/shandong/matters/resident-id-card-renewal.yaml")
    state = filler.fill(form, [f"我叫葛云，身份证{WITH_X[:-1]}，最后一位我得回家看看", "看了，身份证最后一位是x"])
    assert _values(state)["subject_id_number"] == WITH_X


def test_a_spoken_last_digit_corrects_the_spoken_number_before_it(filler):
    form = _form("corpus/data/shandong/matters/resident-id-card-renewal.yaml")
    wrong = MINE[:-1] + ("1" if MINE[-1] != "1" else "2")
    state = filler.fill(form, [f"我叫葛云，身份证号{_spoken(wrong)}，等一下最后一位说错了，是{_spoken(MINE[-1])}，"
                               "电话13905316688"])
    assert _values(state)["subject_id_number"] == MINE


def test_a_whole_number_after_a_correction_replaces_the_one_before(filler):
    """A form with two phones (申请人, 联系人): the corrected number fills neither."""
    form = _form("corpus/data/shandong/scenarios/utility-connection.yaml", Scenario)
    state = filler.fill(form, ["我开的饭店要接天然气，我是老板葛云，电话13905316688，不对，是13905361688"])
    phones = [f.value for f in state.fields if f.type == "phone" and f.value]
    assert phones and set(phones) == {"13905361688"}


def test_a_part_corrected_with_the_whole_number_leaves_the_other_numbers(filler):
    """电话…，哎不对，后三位打错了，是<the whole phone>: the ID number said before stays as it was."""
    form = _form("corpus/data/shandong/scenarios/retirement.yaml", Scenario)
    state = filler.fill(form, [f"我叫葛云，身份证{MINE}，电话13905316688，哎不对，后三位打错了，是13905316520"])
    values = _values(state)
    assert MINE in values.values()
    assert "13905316520" in values.values() and "13905316688" not in values.values()


def test_a_later_part_corrects_the_person_named_not_the_user(filler):
    form = _form("corpus/data/shandong/scenarios/retirement.yaml", Scenario)
    wrong = OTHER[:-4] + "0000"
    state = filler.fill(form, [f"我父亲叫葛长顺，身份证{wrong}，我是他儿子葛云，电话13905316688",
                               f"哎我父亲的身份证后四位念错了，是{_spoken(OTHER[-4:])}"])
    assert OTHER in _values(state).values() and wrong not in _values(state).values()
