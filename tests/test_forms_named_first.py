"""A person named bare before the user says who they are: the bare name and its number are of the one the application
is for (a later 我叫… under another name, or 我是她妈 right after it); a spouse said without a side (我爱人) is the other
side of what the user says they are; the user saying they misread a number (我看错了) is no cue of whose it is.
Real slot extractor and filler, shipped forms, our own sentences."""
from __future__ import annotations

from agent.forms.filler import FormFiller
from tests.conftest_prefill import guide_form, make_id, role_values

OLD = make_id("371523", "19380214", "602")
GRAD = make_id("370783", "20030917", "448")
GRAD_FIXED = make_id("370783", "20030917", "468")
WIFE = make_id("370881", "19960405", "322")
HUSBAND = make_id("370881", "19930822", "615")

_FILLER = FormFiller()


def _values(state) -> dict[str, str]:
    return {f.key: f.value for f in state.fields if f.value}


def test_a_bare_name_then_the_user_under_another_name_is_whom_it_is_for():
    state = _FILLER.fill(guide_form("matters/special-hardship-support.yaml"), [
        f"尉迟兰芝，{OLD}，住在东阿县刘集镇",
        "她是我们村的孤寡老人，儿女都没有，我是村里网格员，想帮她申请兜底供养。",
        "我叫甘立伟，手机 152 6637 0914，老人家里没电话。",
    ])
    assert role_values(state, "subject") == {"name": "尉迟兰芝", "id_number": OLD,
                                             "enum": "女", "date": "1938-02-14"}
    assert role_values(state, "agent") == {"name": "甘立伟", "phone": "15266370914"}


def test_a_bare_name_then_i_am_her_mother_makes_the_name_the_daughters():
    state = _FILLER.fill(guide_form("scenarios/graduate-employment.yaml"), [
        "女儿今年毕业了，想给她报个见习岗位",
        f"卜思雨 {GRAD[:6]} {GRAD[6:10]} {GRAD[10:14]} {GRAD[14:]} 我是她妈卜桂兰 139 6672 0418",
        f"女儿身份证号我看错了一位，正确的是{GRAD_FIXED}",
    ])
    values = _values(state)
    assert values["applicant_name"] == "卜思雨"
    assert values["applicant_id_number"] == GRAD_FIXED  # the misread number is replaced, not left to the mother
    assert values["applicant_phone"] == "13966720418"


def test_a_spouse_said_without_a_side_is_the_other_side_of_the_user():
    state = _FILLER.fill(guide_form("scenarios/marriage-childbirth.yaml"), [
        "我们想要二孩，听说得先登记，我帮我爱人在网上弄",
        f"她叫伍晓岚，身份证{WIFE}",
        f"我是她丈夫，阚志强，电话13853376620，身份证{HUSBAND}",
    ])
    assert role_values(state, "applicant")["id_number"] == HUSBAND
    assert _values(state)["applicant_name"] == "阚志强"
    assert role_values(state, "spouse")["id_number"] == WIFE and _values(state)["spouse_name"] == "伍晓岚"


def test_a_name_said_as_the_users_own_first_stays_the_users():
    state = _FILLER.fill(guide_form("scenarios/graduate-employment.yaml"), [
        f"卜思雨 {GRAD}",
        "我叫卜思雨，电话139 6672 0418，今年刚毕业想报见习",
    ])
    values = _values(state)
    assert values["applicant_name"] == "卜思雨" and values["applicant_id_number"] == GRAD


STAFF = make_id("370212", "19840619", "735")


def test_an_employees_number_then_the_user_says_they_are_hr_is_the_employees_application():
    state = _FILLER.fill(guide_form("matters/social-insurance-record-query.yaml"), [
        "公司有个员工要办居住证，需要社保参保证明，单位帮他打一份。",
        f"员工叫上官永春，身份证 {STAFF[:6]} {STAFF[6:14]} {STAFF[14:]}。",
        "我是综合部的柏雪，电话 13573308126。",
    ])
    assert role_values(state, "subject") == {"name": "上官永春", "id_number": STAFF}
    assert role_values(state, "agent") == {"name": "柏雪", "phone": "13573308126"}


KID = make_id("370683", "20160812", "224")


def test_a_young_relative_named_then_called_the_child_is_that_child():
    state = _FILLER.fill(guide_form("matters/disability-certificate.yaml"), [
        "我外甥桑子涵，他爸妈都在外地打工，一直跟着我过，我是他舅舅",
        f"孩子视力不好，想办个残疾证，身份证{KID}",
        "我叫蓝德明，电话15165520973",
    ])
    assert role_values(state, "subject")["name"] == "桑子涵" and role_values(state, "subject")["id_number"] == KID
    agent = role_values(state, "agent")
    assert agent["name"] == "蓝德明" and agent["phone"] == "15165520973"


def test_an_older_relative_named_is_not_taken_for_the_child():
    state = _FILLER.fill(guide_form("matters/disability-certificate.yaml"), [
        f"我奶奶桑秀英陪着，孩子视力不好，想办个残疾证，身份证{KID}",
    ])
    assert "桑秀英" not in role_values(state, "subject").values()


def test_a_rare_name_right_after_the_users_family_word_is_a_name():
    from agent.forms.slots import SlotExtractor

    found = SlotExtractor().extract("我女儿任欣然大三，想报名教师资格考试，我是她妈妈")
    assert [(s.value, s.role) for s in found if s.type == "name"] == [("任欣然", "child")]
    # a word after the family word that is no name stays none (毕业证, 今年)
    assert not [s for s in SlotExtractor().extract("我女儿毕业证丢了，今年要补") if s.type == "name"]


def test_a_foreign_hire_named_in_latin_letters_and_the_hr_who_speaks_in_english_titles():
    state = _FILLER.fill(guide_form("scenarios/employee-hiring.yaml"), [
        "我们是烟台一家外资工程公司，新招了一位法国工程师，下个月入职。",
        "要帮他办工作许可。She is not French, sorry: he is Lucas Moreau，护照号 18AB52731。",
        "我是 HR Director 毕晓彤，手机 137 1355 2086。",
    ])
    values = _values(state)
    assert values["employee_name"] == "Lucas Moreau"
    assert role_values(state, "applicant") == {"name": "毕晓彤", "phone": "13713552086"}

