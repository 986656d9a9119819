"""agent.forms.validators: every checksum valid and invalid, and each field type's normalisation."""
from __future__ import annotations

import datetime as dt

import pytest

from agent.forms import id_number_info, validate
from tests.conftest_prefill import break_check, make_id, make_uscc

TODAY = dt.date(2026, 11, 23)


# --- 身份证号 GB 11643-1999 -------------------------------------------------

def test_id_standard_example_and_built_ids_are_valid():
    assert validate("id_number", "11010519491231002X").valid  # the example printed in GB 11643-1999
    for birth, seq in [("19900307", "123"), ("20000229", "004"), ("19851111", "777")]:
        v = validate("id_number", make_id("370102", birth, seq))
        assert v.valid, v.error


def test_id_check_digit_wrong_is_flagged_in_chinese():
    good = make_id("370102", "19900307", "123")
    v = validate("id_number", break_check(good))
    assert not v.valid and "校验位" in v.error
    assert v.value == break_check(good)  # the value is kept for the user to correct


def test_id_lowercase_x_spaces_and_fullwidth_are_normalised():
    good = validate("id_number", "11010519491231002x")
    assert good.valid and good.value == "11010519491231002X"
    ident = make_id("370102", "19900307", "123")
    spaced = f"{ident[:6]} {ident[6:14]} {ident[14:]}"
    assert validate("id_number", spaced).value == ident
    fullwidth = ident.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert validate("id_number", fullwidth).valid


@pytest.mark.parametrize("birth", ["19900230", "19901301", "20991201"])
def test_id_impossible_birth_date_is_invalid(birth):
    v = validate("id_number", make_id("370102", birth, "123"), today=TODAY)
    assert not v.valid and "出生日期" in v.error


def test_id_wrong_length_and_legacy_15_digits():
    assert "18位" in validate("id_number", "3701021990030712").error
    legacy = validate("id_number", "370102900307123")
    assert not legacy.valid and "15位" in legacy.error and "18位" in legacy.error


def test_id_unknown_province_code():
    v = validate("id_number", make_id("990102", "19900307", "123"))
    assert not v.valid and "地区" in v.error


def test_id_number_info_derives_birth_gender_age_region():
    info = id_number_info(make_id("370102", "19900307", "123"), today=TODAY)
    assert info.birth_date == dt.date(1990, 3, 7)
    assert info.gender == "男"  # 17th digit 3 is odd
    assert info.age == 36
    assert info.region_code == "370102"
    assert info.region_name.startswith("山东省济南市")
    assert id_number_info(make_id("370102", "19900307", "124"), today=TODAY).gender == "女"
    assert id_number_info(make_id("370102", "19901125", "124"), today=TODAY).age == 35  # birthday not yet
    assert id_number_info(break_check(make_id())) is None


# --- 统一社会信用代码 GB 32100-2015 ----------------------------------------

@pytest.mark.parametrize("body", ["91370100MA3C4XY2", "92370102MA3P5Q6R7", "12100000400000624", "5137010050000001"])
def test_uscc_valid(body):
    code = make_uscc(body)
    v = validate("uscc", code.lower())
    assert v.valid, v.error
    assert v.value == code


def test_uscc_wrong_check_char_and_forbidden_letters():
    code = make_uscc("91370100MA3C4XY2")
    bad = validate("uscc", break_check(code))
    assert not bad.valid and "校验位" in bad.error
    letter_o = validate("uscc", code[:10] + "O" + code[11:])
    assert not letter_o.valid and "O" in letter_o.error
    assert "18位" in validate("uscc", code[:-1]).error


# --- 电话 -------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "0086-13812345678",
                                 "８６１３８１２３４５６７８", "(138)12345678"])
def test_mobile_normalised(raw):
    v = validate("phone", raw)
    assert v.valid and v.value == "13812345678", (raw, v)


def test_landline_and_bad_phones():
    assert validate("phone", "0531 8888 9999").value == "0531-88889999"
    assert validate("phone", "010-12345678").value == "010-12345678"
    short = validate("phone", "1381234567")
    assert not short.valid and "11位" in short.error and "10位" in short.error
    assert not validate("phone", "12812345678").valid
    assert not validate("phone", "12345").valid


# --- 日期 -------------------------------------------------------------------

@pytest.mark.parametrize("raw,iso", [
    ("2024-3-5", "2024-03-05"), ("2024/03/05", "2024-03-05"), ("2024.3.5", "2024-03-05"),
    ("2024年3月5日", "2024-03-05"), ("20240305", "2024-03-05"),
    ("二〇二四年三月五日", "2024-03-05"), ("二零二四年十二月二十五号", "2024-12-25"),
    ("昨天", "2026-11-22"), ("上周三", "2026-11-18"), ("下个月1号", "2026-12-01"), ("3天前", "2026-11-20"),
    ("去年3月5日", "2025-03-05"),
])
def test_dates_normalised(raw, iso):
    v = validate("date", raw, today=TODAY)
    assert v.valid and v.value == iso, (raw, v)


def test_impossible_and_vague_dates():
    assert "有效日期" in validate("date", "2023年2月30日").error
    assert "具体" in validate("date", "2024年3月").error
    assert not validate("date", "前阵子").valid


# --- 选项、地址、金额、整数、文本 -------------------------------------------

def test_enum_options_and_synonyms():
    assert validate("enum", "男性", ["男", "女"]).value == "男"
    assert validate("enum", "女儿", ["男", "女"]).value == "女"
    assert validate("enum", "跟爸爸落户", ["随父", "随母"]).value == "随父"
    assert validate("enum", "妈妈", ["父亲", "母亲", "其他监护人"]).value == "母亲"
    bad = validate("enum", "不知道", ["男", "女"])
    assert not bad.valid and "男、女" in bad.error


def test_address():
    assert validate("address", "济南市历下区 泉城路8号").value == "济南市历下区泉城路8号"
    assert validate("address", "黄岛区长江中路188号").valid  # jionlp knows 黄岛区 is in 青岛市
    assert "简略" in validate("address", "济南").error
    assert "区县" in validate("address", "泉城路8号3单元201室").error  # which city?
    assert "门牌" in validate("address", "山东省济南市历下区").error


@pytest.mark.parametrize("raw,value", [
    ("3.5万", "35000"), ("3万5", "35000"), ("3万5千", "35000"), ("三万五", "35000"), ("5千元", "5000"),
    ("200块", "200"), ("1,200元", "1200"), ("一千二百元", "1200"), ("两万", "20000"), ("¥99.5", "99.50"),
    ("1.2亿", "120000000"), ("50万元", "500000"),
])
def test_money(raw, value):
    v = validate("money", raw)
    assert v.valid and v.value == value, (raw, v)


def test_money_and_int_errors():
    assert not validate("money", "很多钱").valid
    assert "整数" in validate("int", "好几个").error


@pytest.mark.parametrize("raw,value", [("3", "3"), ("三", "3"), ("十二", "12"), ("两个", "2"), ("15人", "15")])
def test_int(raw, value):
    assert validate("int", raw).value == value


def test_text_and_unknown_type():
    assert validate("text", "  王  丽 ").value == "王 丽"
    assert not validate("text", "   ").valid
    with pytest.raises(ValueError):
        validate("colour", "red")
