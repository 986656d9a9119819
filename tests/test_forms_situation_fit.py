"""A matter's 情形 read from what the form already knows and from what people say: the age of the person the
application is for (from their ID) and who applies rule options out (agent/forms/situation_fit.py); an action said
the everyday way picks the option that names it (agent/situations.py). Real corpus forms, the real filler."""
import datetime as dt

import pytest

from agent.forms.filler import FormFiller
from agent.forms.situation_fit import FormFacts, SituationFit
from agent.forms.vocabulary import default_vocabulary
from agent.normalize import Normalizer
from agent.situations import SituationResolver
from corpus.loader import load_corpus
from tests.conftest_prefill import make_id

TODAY = dt.date(2026, 12, 4)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


@pytest.fixture(scope="module")
def filler():
    return FormFiller()


def _matter(corpus, title: str):
    return next(m for m in corpus.matters.values() if m.title == title)


def _situation(filler, guide, *texts: str) -> str | None:
    state = filler.fill(guide.application_form, list(texts), guide_id=guide.id, today=TODAY, guide_kind="matter")
    return next((f.value for f in state.fields if f.key == "situation"), None)


def test_age_and_applicant_rule_options_out():
    fit = SituationFit(default_vocabulary().words.situation_fit)
    ages = ["年满16周岁首次申领", "未满16周岁自愿申领"]
    assert fit.pick(ages, FormFacts(age=9, party="self")) == "未满16周岁自愿申领"
    assert fit.pick(ages, FormFacts(age=16, party="self")) == "年满16周岁首次申领"
    assert fit.pick(ages, FormFacts(age=None, party="self")) is None  # no ID, nothing ruled out
    who = ["本人申请", "委托他人代为申请", "单位依法查询"]
    assert fit.pick(who, FormFacts(age=40, party="self")) == "本人申请"
    assert fit.pick(who, FormFacts(age=40, party="proxy")) == "委托他人代为申请"
    # an option that names no applicant is never ruled out by who applies: two are left, nothing is ticked
    assert fit.pick(["本人线上查询和打印", "到窗口打印参保缴费证明", "委托他人代为打印"], FormFacts(40, "self")) is None
    # both the person and their kin may take it (职工本人或其近亲属): not ruled out for either
    assert fit.pick(["用人单位申请", "职工本人或其近亲属、工会组织申请"], FormFacts(50, "proxy")) \
        == "职工本人或其近亲属、工会组织申请"
    assert fit.pick(["新生儿参保", "其他城乡居民"], FormFacts(0, "proxy")) is None
    assert fit.pick(["新生儿参保", "其他城乡居民"], FormFacts(69, "proxy")) == "其他城乡居民"


def test_a_childs_age_ticks_the_minors_option(corpus, filler):
    guide = _matter(corpus, "居民身份证首次申领")
    child = make_id("370612", "20160728", "222")
    assert _situation(filler, guide, f"给闺女办第一张身份证，孩子叫艾思琪，身份证号码{child}，我是她爸艾军，电话13031688275") \
        == "未满16周岁自愿申领"
    grown = make_id("370612", "20080302", "221")
    assert _situation(filler, guide, f"我闺女满十八了还没身份证，她叫艾思敏，身份证号码{grown}，我是她爸，电话13031688275") \
        == "年满16周岁首次申领"
    # the ID corrected a turn later: the pick is read again
    assert _situation(filler, guide, f"给孩子办身份证，孩子叫艾思琪，身份证号码{child}，我是她爸",
                      f"不对，孩子身份证是{grown}") == "年满16周岁首次申领"


def test_who_applies_ticks_the_proxys_option(corpus, filler):
    guide = _matter(corpus, "残疾人证新办")
    father = make_id("370323", "19600120", "529")
    assert _situation(filler, guide, f"俺爹中风了想办个残疾人证，俺叫冷秀英，俺爹叫冷德福，身份证{father}") \
        == "监护人或代理人代为申请"
    assert _situation(filler, guide, f"我想办个残疾人证，我叫冷德福，身份证{father}，电话13953811207") == "本人申请"


def test_a_choice_said_is_kept(corpus, filler):
    guide = _matter(corpus, "居民身份证换领、补领")
    said = _situation(filler, guide, f"身份证丢了要补办，我叫翟雪梅，身份证号{make_id('370323', '19870612', '308')}")
    # nothing about age or applicant tells these five apart: the words must (the situations stage's pick)
    assert said is None


@pytest.mark.parametrize("text, title", [
    ("身份证丢了要补办，能先在网上申请吗", "遗失补领"),
    ("身份证坏了，照片那块看不清了", "证件损坏换领"),
    ("之前挂失的社保卡找到了", "正式挂失或找回后解挂"),
])
def test_an_everyday_action_picks_the_situation_naming_it(corpus, text, title):
    matter = {"遗失补领": "居民身份证换领、补领", "证件损坏换领": "居民身份证换领、补领",
              "正式挂失或找回后解挂": "社会保障卡挂失与解挂"}[title]
    picked = SituationResolver.matter_situation(_matter(corpus, matter), [Normalizer().run(text)])
    assert picked is not None and picked.title == title


def test_no_action_said_picks_nothing(corpus):
    assert SituationResolver.matter_situation(_matter(corpus, "居民身份证换领、补领"),
                                              [Normalizer().run("身份证怎么换")]) is None


def test_the_matters_own_action_tells_nothing(corpus):
    # every 户口迁移 situation moves a 户口; that one title says 迁移 does not make 迁过来 its situation
    assert SituationResolver.matter_situation(_matter(corpus, "户口迁移（迁入落户）"),
                                              [Normalizer().run("能把户口迁过来吗，要什么材料")]) is None
