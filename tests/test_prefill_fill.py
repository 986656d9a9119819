"""agent.forms.FormFiller on the real newborn form and a business-shaped form, no LLM."""
from __future__ import annotations

import datetime as dt

import pytest

from agent.forms import FormFiller, missing_prompt
from corpus.schema import Form
from tests.conftest_prefill import break_check, business_form, make_id, make_uscc, newborn_form

TODAY = dt.date(2026, 11, 23)
DAD = make_id("370112", "19900307", "153")
MOM = make_id("370102", "19930512", "128")


def values(state):
    return {f.key: f.value for f in state.fields}


def field(state, key):
    return next(f for f in state.fields if f.key == key)


@pytest.fixture(scope="module")
def newborn():
    return newborn_form()


def test_multi_turn_fill_of_the_newborn_form(newborn):
    sc, form = newborn
    texts = [
        f"我要给宝宝办出生一件事，我是孩子爸爸，叫张伟，身份证{DAD}，手机138 1234 5678",
        f"孩子妈妈叫李娜，身份证号{MOM}，宝宝叫张小宝，上周三在济南市妇幼保健院出生，是个男孩",
        "户口随父落户，落在济南市历下区泉城路8号3单元201室",
    ]
    ff, state = FormFiller(), None
    for i in range(len(texts)):
        state = ff.fill(form, texts[:i + 1], answers={"hukou-place": "in-province"}, previous=state,
                        guide_id=sc.id, today=TODAY)
    v = values(state)
    assert v["applicant_name"] == "张伟" and v["applicant_id_number"] == DAD
    assert v["applicant_phone"] == "13812345678"
    assert v["applicant_relation"] == "父亲"
    assert v["father_name"] == "张伟" and v["father_id_number"] == DAD  # the applicant said he is the father
    assert v["mother_name"] == "李娜" and v["mother_id_number"] == MOM  # the mother's ID, not the applicant's
    assert v["baby_name"] == "张小宝" and v["baby_gender"] == "男" and v["baby_birth_date"] == "2026-11-18"
    assert v["birth_hospital"] == "济南市妇幼保健院"
    assert v["hukou_follow"] == "随父" and v["hukou_address"] == "济南市历下区泉城路8号3单元201室"
    assert field(state, "applicant_birth_date").value == "1990-03-07"
    assert field(state, "applicant_birth_date").source == "derived"
    assert field(state, "applicant_name").source == "conversation"
    assert state.missing == [] and missing_prompt(state) == ""
    assert state.form_id == form.id and state.guide_id == sc.id == state.scenario_id


def test_only_new_messages_with_previous_state_gives_the_same_result(newborn):
    _, form = newborn
    ff = FormFiller()
    s1 = ff.fill(form, [f"我叫王丽，身份证{MOM}"], today=TODAY)
    s2 = ff.fill(form, ["电话13912345678"], previous=s1, today=TODAY)
    v = values(s2)
    assert v["applicant_name"] == "王丽" and v["applicant_id_number"] == MOM and v["applicant_phone"] == "13912345678"


def test_mother_id_goes_to_mother_when_applicant_is_mother(newborn):
    _, form = newborn
    state = FormFiller().fill(form, [f"我是孩子妈妈，叫刘晓燕，我的身份证是{MOM}，我老公的身份证是{DAD}"], today=TODAY)
    v = values(state)
    assert v["applicant_relation"] == "母亲"
    assert v["applicant_name"] == v["mother_name"] == "刘晓燕"
    assert v["applicant_id_number"] == v["mother_id_number"] == MOM
    assert v["father_id_number"] == DAD


def test_correction_in_a_later_turn_replaces_the_value(newborn):
    _, form = newborn
    texts = ["我叫王丽，电话13812345678", "孩子11月16日出生的", "不对，电话写错了，是13900001111", "不对，是11月17日"]
    state = FormFiller().fill(form, texts, today=TODAY)
    assert field(state, "applicant_phone").value == "13900001111"
    assert field(state, "baby_birth_date").value == "2026-11-17"
    assert field(state, "applicant_name").value == "王丽"


def test_invalid_values_are_kept_and_flagged(newborn):
    _, form = newborn
    bad = break_check(MOM)
    state = FormFiller().fill(form, [f"孩子妈妈身份证号{bad}，我电话1381234567"], today=TODAY)
    mid = field(state, "mother_id_number")
    assert mid.value == bad and mid.valid is False and "校验位" in mid.error
    phone = field(state, "applicant_phone")
    assert phone.value == "1381234567" and not phone.valid and "11位" in phone.error
    assert "mother_id_number" in state.missing and "applicant_phone" in state.missing
    prompt = missing_prompt(state)
    assert "母亲身份证号（" in prompt and "校验位" in prompt and "申请人姓名" in prompt


def test_derived_field_needs_a_valid_source(newborn):
    _, form = newborn
    state = FormFiller().fill(form, [f"我的身份证{break_check(DAD)}"], today=TODAY)
    assert field(state, "applicant_birth_date").value is None
    state = FormFiller().fill(form, [f"不对，是{DAD}"], previous=state, today=TODAY)
    assert field(state, "applicant_birth_date").value == "1990-03-07"


def test_missing_and_when_gating(newborn):
    _, form = newborn
    ff = FormFiller()
    undecided = ff.fill(form, ["我叫王丽"], answers={}, today=TODAY)
    assert "bank_account" in [f.key for f in undecided.fields]  # shown while undecided
    assert "applicant_name" not in undecided.missing and "applicant_phone" in undecided.missing
    assert undecided.missing[0] == "applicant_id_number"
    assert "bank_account" not in undecided.missing
    resident = ff.fill(form, ["我叫王丽"], answers={"mother-insurance": "resident"}, today=TODAY)
    assert "bank_account" not in [f.key for f in resident.fields]  # ruled out by the 情形 answer
    gated = form.model_copy(deep=True)
    next(f for f in gated.fields if f.key == "bank_account").required = True
    employee = ff.fill(gated, ["我叫王丽"], answers={"mother-insurance": "employee"}, today=TODAY)
    assert "bank_account" in employee.missing
    employee = ff.fill(gated, ["生育津贴收款账号：6222 0202 0000 1234 567"], previous=employee,
                       answers={"mother-insurance": "employee"}, today=TODAY)
    assert field(employee, "bank_account").value == "6222 0202 0000 1234 567"
    assert "bank_account" not in employee.missing


def test_unlabelled_answer_goes_to_the_field_that_was_asked(newborn):
    _, form = newborn
    ff = FormFiller()
    s1 = ff.fill(form, ["我叫王丽，孩子叫张小宝"], today=TODAY)
    assert s1.missing.index("mother_name") < s1.missing.index("father_name") if "father_name" in s1.missing else True
    s2 = ff.fill(form, ["李娜"], previous=s1, today=TODAY)
    assert field(s2, "mother_name").value == "李娜"
    assert field(s2, "applicant_name").value == "王丽"


def test_user_edits_stick_until_the_user_says_otherwise(newborn):
    _, form = newborn
    ff = FormFiller()
    s1 = ff.fill(form, ["我叫王丽，电话13812345678"], today=TODAY)
    edited = ff.apply_edits(form, s1, {"applicant_name": "王丽丽", "applicant_id_number": DAD})
    assert field(edited, "applicant_name").source == "user"
    assert field(edited, "applicant_birth_date").value == "1990-03-07"  # re-derived from the edit
    s2 = ff.fill(form, ["我叫王丽，电话13812345678", "孩子叫张小宝"], previous=edited, today=TODAY)
    assert field(s2, "applicant_name").value == "王丽丽"  # an old message does not undo an edit
    s3 = ff.fill(form, ["我叫王丽，电话13812345678", "孩子叫张小宝", "我叫王美丽"], previous=s2, today=TODAY)
    assert field(s3, "applicant_name").value == "王美丽"
    assert field(s3, "applicant_name").source == "conversation"


def test_apply_edits_validates_and_rejects_unknown_keys(newborn):
    _, form = newborn
    ff = FormFiller()
    state = ff.fill(form, ["我叫王丽"], today=TODAY)
    edited = ff.apply_edits(form, state, {"applicant_phone": "139 0000 1111", "baby_gender": "女孩",
                                          "mother_id_number": "123"})
    assert field(edited, "applicant_phone").value == "13900001111"
    assert field(edited, "baby_gender").value == "女"
    bad = field(edited, "mother_id_number")
    assert bad.value == "123" and not bad.valid and bad.source == "user"
    assert "mother_id_number" in edited.missing
    with pytest.raises(ValueError, match="no_such_field"):
        ff.apply_edits(form, state, {"no_such_field": "x"})


def test_business_form_with_legal_rep_company_and_contact():
    form = business_form()
    code = make_uscc("91370100MA3C4XY2")
    rep = make_id("370102", "19851111", "224")
    texts = [
        f"我们公司叫济南泉城科技有限公司，统一社会信用代码{code}",
        f"法定代表人是赵强，身份证{rep}，注册资本3.5万，员工12人",
        "经营地址在济南市历城区工业北路100号，联系人孙莉，电话0531-8888 9999，下周一开业",
    ]
    state = FormFiller().fill(form, texts, today=TODAY)
    v = values(state)
    assert v["company_name"] == "济南泉城科技有限公司" and v["uscc"] == code
    assert v["legal_rep_name"] == "赵强" and v["legal_rep_id_number"] == rep
    assert v["legal_rep_gender"] == "女" and v["legal_rep_age"] == "41"
    assert v["registered_capital"] == "35000" and v["employee_count"] == "12"
    assert v["business_address"] == "济南市历城区工业北路100号"
    assert v["contact_name"] == "孙莉" and v["contact_phone"] == "0531-88889999"
    assert v["start_date"] == "2026-11-30"
    assert state.missing == []


def test_bad_uscc_is_flagged_on_the_business_form():
    form = business_form()
    code = break_check(make_uscc("91370100MA3C4XY2"))
    state = FormFiller().fill(form, [f"营业执照上的信用代码是{code}"], today=TODAY)
    f = field(state, "uscc")
    assert f.value == code and not f.valid and "校验位" in f.error


def _all_forms():
    from corpus.loader import load_corpus

    corpus = load_corpus(regions=["shandong"])
    return [(s.id, s.form) for s in corpus.scenarios.values()]


def test_every_corpus_form_fills_generically():
    """The same sentences fill the applicant's fields of every real form; nothing is scenario-specific."""
    ident = make_id("370102", "19900307", "123")
    texts = [f"我叫王丽，身份证号{ident}", "我的电话是 139-1234-5678"]
    forms = _all_forms()
    assert len(forms) >= 1
    checked = 0
    for sid, form in forms:
        state = FormFiller().fill(form, texts, guide_id=sid, today=TODAY)
        keys = {f.key for f in form.fields}
        v = values(state)
        required = {f.key for f in form.fields if f.required}
        assert set(state.missing) <= required, sid
        for f in state.fields:  # whatever got filled is validated and has a source
            assert (f.value is None) == (f.source is None), (sid, f.key)
        if "applicant_id_number" in keys:
            assert v["applicant_id_number"] == ident, sid
            checked += 1
        if "applicant_name" in keys:
            assert v["applicant_name"] == "王丽", sid
        if "applicant_phone" in keys:
            assert v["applicant_phone"] == "13912345678", sid
        for f in form.fields:
            if f.derived_from == "applicant_id_number" and f.derive == "birth_date":
                assert v[f.key] == "1990-03-07", sid
    assert checked >= 1


def test_apply_edits_without_answers_keeps_the_gating_of_the_state(newborn):
    _, form = newborn
    gated = form.model_copy(deep=True)
    next(f for f in gated.fields if f.key == "bank_account").required = True
    ff = FormFiller()
    employee = ff.fill(gated, ["我叫王丽"], answers={"mother-insurance": "employee"}, today=TODAY)
    assert "bank_account" in employee.missing
    edited = ff.apply_edits(gated, employee, {"applicant_phone": "13812345678"})
    assert "bank_account" in edited.missing and "applicant_phone" not in edited.missing
    resident = ff.fill(gated, ["我叫王丽"], answers={"mother-insurance": "resident"}, today=TODAY)
    edited = ff.apply_edits(gated, resident, {"applicant_phone": "13812345678"})
    assert "bank_account" not in [f.key for f in edited.fields]


def test_phone_after_the_childs_name_still_reaches_the_applicant(newborn):
    _, form = newborn
    state = FormFiller().fill(form, ["我叫王丽，孩子叫张小宝，电话138 1234 5678"], today=TODAY)
    assert field(state, "applicant_phone").value == "13812345678"
    assert field(state, "baby_name").value == "张小宝"


def test_someone_elses_name_never_becomes_the_applicants():
    form = business_form()
    state = FormFiller().fill(form, [f"孩子妈妈叫李娜，身份证{MOM}"], today=TODAY)
    assert field(state, "legal_rep_name").value is None and field(state, "contact_name").value is None
    assert field(state, "legal_rep_id_number").value is None


def test_legal_rep_is_me():
    form = business_form().model_copy(deep=True)
    form.fields += [f.model_copy(update={"key": k, "label": lbl})
                    for f in form.fields if f.key == "contact_phone"
                    for k, lbl in [("legal_rep_phone", "法定代表人手机号"), ("applicant_phone", "申请人联系电话")]]
    rep = make_id("370102", "19851111", "224")
    state = FormFiller().fill(form, [f"法定代表人是我自己，叫赵强，身份证{rep}，手机13812345678"], today=TODAY)
    assert field(state, "legal_rep_name").value == "赵强" and field(state, "legal_rep_id_number").value == rep
    assert field(state, "legal_rep_phone").value == field(state, "applicant_phone").value == "13812345678"
    assert field(state, "contact_phone").value is None  # a contact is someone else unless said


def test_enum_from_label_and_from_a_bare_reply(newborn):
    _, form = newborn
    ff = FormFiller()
    state = ff.fill(form, ["新生儿性别：女，户口跟妈妈"], today=TODAY)
    assert field(state, "baby_gender").value == "女" and field(state, "hukou_follow").value == "随母"
    assert field(state, "applicant_relation").value is None  # 妈妈 here is not the applicant
    asked = ff.fill(form, ["我叫王丽，我是孩子妈妈"], today=TODAY)
    assert field(asked, "baby_gender").value is None
    reply = ff.fill(form, ["男"], previous=asked, today=TODAY)
    assert field(reply, "baby_gender").value == "男"


def test_one_filler_serves_threads_concurrently(newborn):
    import concurrent.futures

    _, form = newborn
    biz = business_form()
    ff = FormFiller()
    jobs = [(form, [f"我叫王丽，身份证{MOM}"]), (biz, ["公司叫济南泉城科技有限公司，联系人孙莉，电话13812345678"])] * 6
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        states = list(pool.map(lambda job: ff.fill(job[0], job[1], today=TODAY), jobs))
    for (f, _), state in zip(jobs, states):
        v = values(state)
        if f is form:
            assert v["applicant_name"] == "王丽" and v["applicant_id_number"] == MOM
        else:
            assert v["company_name"] == "济南泉城科技有限公司" and v["contact_phone"] == "13812345678"


def test_bare_answers_replayed_with_the_whole_history_stay_where_they_went(newborn):
    _, form = newborn
    ff = FormFiller()
    texts = ["王丽"]
    s1 = ff.fill(form, texts, today=TODAY)
    assert field(s1, "applicant_name").value == "王丽"
    texts.append(f"身份证{DAD}")
    s2 = ff.fill(form, texts, previous=s1, today=TODAY)
    texts.append("孩子叫张小宝")
    s3 = ff.fill(form, texts, previous=s2, today=TODAY)
    texts.append("李娜")  # asked for the mother's name next
    s4 = ff.fill(form, texts, previous=s3, today=TODAY)
    v = values(s4)
    assert v["applicant_name"] == "王丽" and v["mother_name"] == "李娜" and v["baby_name"] == "张小宝"
    assert v["applicant_id_number"] == DAD


def test_identity_carries_over_when_only_new_messages_are_passed(newborn):
    _, form = newborn
    ff = FormFiller()
    s1 = ff.fill(form, [f"我是孩子妈妈，身份证{MOM}"], today=TODAY)
    assert field(s1, "mother_id_number").value == MOM == field(s1, "applicant_id_number").value
    s2 = ff.fill(form, ["我叫刘晓燕"], previous=s1, today=TODAY)
    assert field(s2, "applicant_name").value == "刘晓燕" and field(s2, "mother_name").value == "刘晓燕"


def test_numbers_need_their_label_or_unit_or_the_question():
    form = business_form()
    ff = FormFiller()
    state = ff.fill(form, ["孩子三岁了，去年花了两万块"], today=TODAY)
    assert field(state, "employee_count").value is None and field(state, "registered_capital").value is None
    state = ff.fill(form, ["计划招8个人"], today=TODAY)
    assert field(state, "employee_count").value == "8"  # 人 matches 从业人数
    asked = ff.fill(form, ["公司叫济南泉城科技有限公司"], today=TODAY)
    assert asked.missing[1] == "registered_capital" or "registered_capital" in asked.missing
    reply = ff.fill(form, ["50万"], previous=asked, today=TODAY)
    assert field(reply, "registered_capital").value == "500000"


def test_how_to_questions_fill_no_personal_fields():
    """Sample questions (how do I…) carry no personal data: nothing personal may be invented from them."""
    from corpus.loader import load_corpus

    ff = FormFiller()
    for sc in load_corpus(regions=["shandong"]).scenarios.values():
        state = ff.fill(sc.form, sc.sample_questions, today=TODAY)
        personal = [f.key for f in state.fields if f.value and (f.type in ("id_number", "phone", "date", "address", "money")
                                                                or f.key.endswith("_name") and "company" not in f.key)]
        assert personal == [], (sc.id, personal)


def _form(fields):
    return Form.model_validate({"id": "test-form", "title": "测试申请表", "fields": fields})


def _f(key, label, type_="text", **kw):
    return {"key": key, "label": label, "type": type_, **kw}


def test_agent_words_in_labels_and_a_named_shop():
    """经办人 in the text fills 申请人（经办人）… and the other applicant fields, not another person's."""
    form = _form([
        _f("applicant_name", "申请人（经办人）姓名", required=True),
        _f("applicant_id_number", "申请人身份证号", "id_number", required=True),
        _f("applicant_phone", "申请人联系电话", "phone", required=True),
        _f("company_name", "门店（企业）名称", required=True),
        _f("legal_rep_name", "法定代表人姓名"),
        _f("quality_manager_name", "质量负责人姓名"),
    ])
    ident = make_id("370687", "19880923", "057")
    texts = ["我想开个便利店", "门店名字叫明湖优选便利", f"经办人罗志刚，身份证{ident}，联系电话13645678901"]
    v = values(FormFiller().fill(form, texts, today=TODAY))
    assert v["company_name"] == "明湖优选便利"
    assert v["applicant_name"] == "罗志刚" and v["applicant_id_number"] == ident
    assert v["applicant_phone"] == "13645678901"
    assert v["quality_manager_name"] is None and v["legal_rep_name"] is None


def test_a_dedicated_agent_field_wins_over_the_applicant():
    form = _form([
        _f("applicant_name", "受助人姓名", required=True),
        _f("applicant_id_number", "受助人身份证号", "id_number", required=True),
        _f("agent_name", "代办人姓名"),
        _f("agent_id_number", "代办人身份证号", "id_number"),
    ])
    a, b = make_id("370102", "19450301", "062"), make_id("370102", "19750716", "315")
    v = values(FormFiller().fill(form, [f"代办人孔令辉，身份证{b}；受助人孔庆祥，身份证{a}"], today=TODAY))
    assert (v["agent_name"], v["agent_id_number"]) == ("孔令辉", b)
    assert (v["applicant_name"], v["applicant_id_number"]) == ("孔庆祥", a)


def _subject_form():
    return _form([
        _f("applicant_name", "受助人姓名", required=True),
        _f("applicant_id_number", "受助人身份证号", "id_number", required=True),
        _f("applicant_phone", "联系电话", "phone", required=True),
        _f("agent_name", "代办人（监护人）姓名"),
        _f("agent_id_number", "代办人身份证号", "id_number"),
    ])


def test_applying_for_a_parent_fills_the_subject_fields_with_the_parent():
    father, me = make_id("370683", "19520809", "046"), make_id("370683", "19800211", "027")
    texts = [f"想替我爸办理，他叫龚建华，他的身份证{father}", f"我叫龚磊，身份证{me}，我的手机15098765432"]
    v = values(FormFiller().fill(_subject_form(), texts, today=TODAY))
    assert (v["applicant_name"], v["applicant_id_number"]) == ("龚建华", father)
    assert (v["agent_name"], v["agent_id_number"]) == ("龚磊", me)  # the user is the one applying for him
    assert v["applicant_phone"] == "15098765432"


def test_subject_named_in_one_turn_and_its_id_in_the_next():
    daughter = make_id("371502", "20120518", "086")
    texts = ["我想申请救助", "受助人是我女儿，名叫柏雨彤", f"身份证{daughter}，电话13176543210"]
    ff, state = FormFiller(), None
    for i in range(len(texts)):
        state = ff.fill(_subject_form(), texts[:i + 1], previous=state, today=TODAY)
    v = values(state)
    assert v["applicant_name"] == "柏雨彤" and v["applicant_id_number"] == daughter
    assert v["agent_name"] is None


def test_without_a_subject_the_users_own_values_fill_the_subject_fields():
    me = make_id("370683", "19800211", "027")
    v = values(FormFiller().fill(_subject_form(), [f"我叫龚磊，身份证{me}"], today=TODAY))
    assert (v["applicant_name"], v["applicant_id_number"]) == ("龚磊", me) and v["agent_name"] is None


def test_husband_and_wife_labels_take_their_own_person_in_any_order():
    form = _form([
        _f("applicant_name", "申请人（男方）姓名", required=True),
        _f("applicant_id_number", "申请人（男方）身份证号", "id_number", required=True),
        _f("spouse_name", "女方姓名", required=True),
        _f("spouse_id_number", "女方身份证号", "id_number", required=True),
        _f("spouse_phone", "女方联系电话", "phone"),
    ])
    h, w = make_id("370725", "19950102", "215"), make_id("370725", "19960620", "124")
    v = values(FormFiller().fill(form, [f"女方叫欧阳倩，身份证{w}；男方叫廖俊杰，身份证{h}"], today=TODAY))
    assert (v["applicant_name"], v["applicant_id_number"]) == ("廖俊杰", h)
    assert (v["spouse_name"], v["spouse_id_number"]) == ("欧阳倩", w)


def test_each_date_goes_to_the_field_whose_label_shares_its_cue():
    form = _form([
        _f("applicant_name", "姓名", required=True),
        _f("enroll_date", "入学日期", "date", required=True),
        _f("graduation_date", "预计毕业日期", "date", required=True),
    ])
    v = values(FormFiller().fill(form, ["我叫苗佳琪，2019年9月1日入学，打算2023年6月30日毕业"], today=TODAY))
    assert v["enroll_date"] == "2019-09-01" and v["graduation_date"] == "2023-06-30"
    v = values(FormFiller().fill(form, ["预计毕业日期是2023年6月30日，入学日期2019年9月1日"], today=TODAY))
    assert v["enroll_date"] == "2019-09-01" and v["graduation_date"] == "2023-06-30"


def test_relation_after_the_name_and_i_apply_myself(newborn):
    _, form = newborn
    v = values(FormFiller().fill(form, [f"我名叫郑国栋，是宝宝的爸爸，身份证{DAD}"], today=TODAY))
    assert v["applicant_name"] == v["father_name"] == "郑国栋"
    assert v["applicant_id_number"] == v["father_id_number"] == DAD
    biz = business_form().model_copy(deep=True)
    biz.fields += [f.model_copy(update={"key": k, "label": lbl, "type": t})
                   for f in biz.fields if f.key == "contact_name"
                   for k, lbl, t in [("applicant_name", "申请人姓名", "text"),
                                     ("applicant_id_number", "申请人身份证号", "id_number")]]
    rep = make_id("370211", "19780415", "031")
    v = values(FormFiller().fill(biz, [f"法定代表人林志远，身份证{rep}，由我本人亲自办理"], today=TODAY))
    assert v["legal_rep_name"] == v["applicant_name"] == "林志远"
    assert v["legal_rep_id_number"] == v["applicant_id_number"] == rep
    v = values(FormFiller().fill(biz, [f"法定代表人林志远，身份证{rep}"], today=TODAY))
    assert v["applicant_name"] is None and v["applicant_id_number"] is None  # someone else until said


def test_uscc_right_after_a_company_belongs_to_that_companys_field():
    form = _form([
        _f("own_uscc", "申请单位统一社会信用代码", "uscc"),
        _f("company_name", "被担保企业名称", required=True),
        _f("uscc", "被担保企业统一社会信用代码", "uscc", required=True),
    ])
    code = make_uscc("91370600MA9Q2LK7")
    v = values(FormFiller().fill(form, [f"被担保企业是烟台瑞丰包装有限公司，统一社会信用代码{code}"], today=TODAY))
    assert v["company_name"] == "烟台瑞丰包装有限公司" and v["uscc"] == code and v["own_uscc"] is None


def test_thing_names_are_not_people():
    form = _form([
        _f("applicant_name", "经办人姓名", required=True),
        _f("brand_name", "商标名（拟注册）", required=True),
        _f("project_name", "项目名称"),
    ])
    v = values(FormFiller().fill(form, ["商标名青禾，经办人马丽"], today=TODAY))
    assert v["brand_name"] == "青禾" and v["applicant_name"] == "马丽"
    v = values(FormFiller().fill(form, ["经办人马丽，项目名称叫做东湖湿地修复"], today=TODAY))
    assert v["project_name"] == "东湖湿地修复" and v["brand_name"] is None


def test_spoken_phone_digits_fill_the_phone(newborn):
    _, form = newborn
    v = values(FormFiller().fill(form, ["我叫王丽，电话幺三九零五三一二二八八"], today=TODAY))
    assert v["applicant_phone"] == "13905312288"


def test_a_qualified_person_word_is_someone_else():
    form = _form([
        _f("legal_rep_name", "法定代表人姓名（现任）", required=True),
        _f("new_legal_rep_name", "新法定代表人姓名"),
        _f("liquidator_name", "清算组负责人姓名"),
    ])
    ff = FormFiller()
    v = values(ff.fill(form, ["法定代表人蒋文斌"], today=TODAY))
    assert v["legal_rep_name"] == "蒋文斌" and v["new_legal_rep_name"] is None
    v = values(ff.fill(form, ["新法定代表人叫蒋文斌"], today=TODAY))
    assert v["new_legal_rep_name"] == "蒋文斌" and v["legal_rep_name"] is None


def test_a_name_without_a_cue_is_the_users_unless_another_field_was_asked():
    form = _form([
        _f("liquidator_name", "清算组负责人姓名", required=True),  # first: order alone must not decide
        _f("applicant_name", "申请人姓名", required=True),
        _f("applicant_phone", "联系电话", "phone", required=True),
    ])
    ff = FormFiller()
    s1 = ff.fill(form, ["王志明，13588889999"], today=TODAY)
    assert values(s1)["applicant_name"] == "王志明" and values(s1)["liquidator_name"] is None
    s2 = ff.fill(form, ["王志明，13588889999", "孙海燕"], previous=s1, today=TODAY)
    assert values(s2)["liquidator_name"] == "孙海燕" and values(s2)["applicant_name"] == "王志明"


def test_my_husband_makes_me_the_wife_in_any_order():
    form = _form([
        _f("applicant_name", "申请人（男方）姓名", required=True),
        _f("applicant_id_number", "申请人（男方）身份证号", "id_number", required=True),
        _f("spouse_name", "女方姓名", required=True),
        _f("spouse_id_number", "女方身份证号", "id_number", required=True),
    ])
    h, w = make_id("370725", "19950102", "215"), make_id("370725", "19960620", "124")
    for text in (f"我叫欧阳倩，身份证{w}，我老公叫廖俊杰，身份证{h}",
                 f"我老公叫廖俊杰，身份证{h}。我叫欧阳倩，身份证{w}"):
        v = values(FormFiller().fill(form, [text], today=TODAY))
        assert (v["applicant_name"], v["applicant_id_number"]) == ("廖俊杰", h), text
        assert (v["spouse_name"], v["spouse_id_number"]) == ("欧阳倩", w), text


def test_a_grandparent_applying_for_a_grandchild_is_the_guardian():
    form = _form([
        _f("applicant_name", "持证人姓名", required=True),
        _f("applicant_id_number", "持证人身份证号", "id_number", required=True),
        _f("guardian_name", "监护人姓名"),
        _f("guardian_id_number", "监护人身份证号", "id_number"),
    ])
    kid, me = make_id("370902", "20180305", "012"), make_id("370902", "19580821", "046")
    v = values(FormFiller().fill(form, [f"我是外婆，想给外孙女办证，她叫祁若溪，身份证{kid}。我叫姜玉珍，身份证{me}"],
                                 today=TODAY))
    assert (v["applicant_name"], v["applicant_id_number"]) == ("祁若溪", kid)
    assert (v["guardian_name"], v["guardian_id_number"]) == ("姜玉珍", me)


def _matter_form(doc_id: str):
    from corpus.loader import load_corpus  # the real guide's declared form

    return load_corpus(regions=["shandong"]).matters[doc_id].application_form


def test_a_form_branches_on_its_own_choices_and_on_whom_it_is_for():
    form = _matter_form("housing-fund-withdrawal")
    ff = FormFiller()
    state = ff.fill(form, [f"我要提取公积金，租房提取，我叫张伟，身份证{DAD}，电话13812345678"], guide_id="x",
                    today=TODAY, guide_kind="matter")
    got = values(state)
    assert got["situation"] == "租房提取" and got["applies_for"] == "本人办理"
    assert "rent_address" in got and "house_address" not in got, "only the 租房 fields of the official form"
    assert "rent_address" in state.missing and not any(f.role == "agent" for f in state.fields)
    assert state.subject_role == "subject" and field(state, "subject_name").role == "subject"
    # for someone else: the person named is the subject, the speaker the 受托人; no phone of the subject is asked
    other = ff.fill(form, [f"帮我妈办公积金提取，她叫李娜，身份证{MOM}；我是她儿子张伟，身份证{DAD}，电话13812345678"],
                    guide_id="x", today=TODAY, guide_kind="matter")
    got = values(other)
    assert got["applies_for"] == "代他人办理"
    assert (got["subject_name"], got["subject_id_number"]) == ("李娜", MOM)
    assert (got["agent_name"], got["agent_id_number"], got["agent_phone"]) == ("张伟", DAD, "13812345678")
    assert "subject_phone" not in got
    # ticking 本人办理 in the form hides the 受托人 fields again and asks for the subject's phone
    mine = ff.apply_edits(form, other, {"applies_for": "本人办理"}, today=TODAY)
    assert not any(f.role == "agent" for f in mine.fields) and "subject_phone" in mine.missing


def test_a_role_word_in_the_services_own_name_says_nothing_about_whose_values_are_whose():
    from collections import Counter
    from types import SimpleNamespace

    from agent.forms.step import FormStep
    from agent.session import SessionState
    from corpus.loader import load_corpus

    corpus = load_corpus(regions=["shandong"])
    guide = corpus.matters["retirement-qualification-review"]  # 职工退休申请: 职工 is a role word
    said = f"帮我妈办{guide.title}，她叫李娜，身份证{MOM}；我是她儿子，我叫张伟，身份证{DAD}，电话13812345678"
    state = FormStep(corpus, None, 4.0).run(guide, SessionState(session_id="t"), [SimpleNamespace(raw=said)],
                                            SimpleNamespace(has_personal_data=True), "apply", Counter())
    by_role = {(f.role, f.value) for f in state.fields if f.value}
    assert {("subject", "李娜"), ("subject", MOM), ("agent", "张伟"), ("agent", DAD)} <= by_role


def test_a_role_word_naming_a_kind_of_insurance_is_no_person():
    """想给她交职工医保: 职工 says which insurance, so 她 in the next message is still the wife, and the husband's own
    values later do not replace hers on a form with only the insured person's fields."""
    form = _form([
        _f("applicant_name", "姓名", required=True, role="applicant"),
        _f("applicant_id_number", "身份证号", "id_number", required=True, role="applicant"),
        _f("applicant_phone", "联系电话", "phone", required=True, role="applicant"),
    ])
    wife, me = make_id("370523", "19880416", "024"), make_id("370523", "19860911", "017")
    texts = ["我媳妇在超市打零工，想给她交职工医保", f"她叫曹雪梅，身份证{wife}", f"我叫顾海洋，是她丈夫，我身份证{me}"]
    ff, state = FormFiller(), None
    for i in range(len(texts)):
        state = ff.fill(form, texts[:i + 1], previous=state, today=TODAY)
    v = values(state)
    assert (v["applicant_name"], v["applicant_id_number"]) == ("曹雪梅", wife)


def test_the_same_role_word_before_a_person_still_names_them():
    from agent.forms.slots import default_slot_extractor

    roles = default_slot_extractor().roles
    assert roles.nearest_cue("想交职工养老保险", 7, []) is None
    cue = roles.nearest_cue("单位职工任志强", 4, [])
    assert cue is not None and roles.cues[cue.group(0)] == "employee"


def test_a_name_after_she_in_a_later_message_is_the_relative_named_before():
    """她叫X，身份证…: the name, like the number, is the wife's named in the message before (女方姓名)."""
    form = _form([
        _f("applicant_name", "申请人（男方）姓名", required=True, role="applicant"),
        _f("applicant_phone", "联系电话", "phone", required=True, role="applicant"),
        _f("spouse_name", "女方姓名", required=True, role="spouse"),
        _f("spouse_id_number", "女方身份证号", "id_number", required=True, role="spouse"),
    ])
    wife = make_id("370523", "19880416", "024")
    texts = ["我们想要孩子了，帮我媳妇约个孕前检查", f"她叫曹雪梅，{wife}。我顾海洋，13812345678"]
    v = values(FormFiller().fill(form, texts, today=TODAY))
    assert (v["spouse_name"], v["spouse_id_number"]) == ("曹雪梅", wife)
    assert v["applicant_name"] == "顾海洋"


@pytest.mark.parametrize("said, key", [
    ("现在住在济南市市中区经七路100号", "residence_address"),
    ("我家住济南市市中区经七路100号", "residence_address"),
    ("户口在济南市市中区经七路100号", "hukou_address"),
])
def test_the_everyday_word_for_a_label_word_picks_the_address_field(said, key):
    """住在 is 居住 and 户口在 is 户籍 (label_words_said in form_words.yaml), though neither shares a character pair
    with its label: the address goes to that field, not to the first address field of the form."""
    import yaml

    from corpus.schema import MatterGuide
    from tests.conftest_prefill import ROOT

    path = ROOT / "corpus/data/shandong/matters/residence-permit.yaml"
    guide = MatterGuide.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    state = FormFiller().fill(guide.application_form, ["我要办居住证，" + said], guide_id=guide.id, today=TODAY,
                              guide_kind="matter")
    got = {f.key: f.value for f in state.fields if f.type == "address" and f.value}
    assert got == {key: "济南市市中区经七路100号"}
