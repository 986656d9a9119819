"""The router on what a message names and what retrieval found (agent/router.py): a name said in passing, a pick of
a pending question, an answer to a 情形 question, a follow-up, the guide of a FAQ. On the whole shipped corpus with
recorded hits (no index is searched): each test sets the hits retrieval would return."""
from __future__ import annotations

import pytest

from agent.guides import GuideClassifier
from agent.normalize import Normalizer
from agent.reply import ClarifyOption, Route
from agent.router import RouteReason, Router
from agent.session import PendingClarify, SessionState
from corpus.loader import load_corpus
from daoban.settings import load_settings
from index.text import normalize
from index.types import Hit


class RecordedHits:
    def __init__(self, hits: list[Hit]):
        self.hits = hits

    def search(self, text, k, filters=None):
        return self.hits


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(load_settings().corpus_dir)


@pytest.fixture(scope="module")
def normalizer():
    return Normalizer()


@pytest.fixture(scope="module")
def ids(corpus):
    return {d.title: d.id for d in corpus.documents() if d.kind != "catalog"}


def hit(corpus, doc_id: str, score: float, confident: bool = True) -> Hit:
    doc = corpus.get(doc_id)
    return Hit(doc_id=doc_id, kind=doc.kind, title=doc.title, region=doc.region, score=score, confident=confident)


def route_of(corpus, doc_id: str) -> Route:
    doc = corpus.get(doc_id)
    return Route(kind=doc.kind, id=doc.id, title=doc.title, region=doc.region, score=1.0)


@pytest.fixture(scope="module")
def guides(corpus):
    return GuideClassifier(corpus)


def decide(corpus, normalizer, text: str, hits: list[Hit], session: SessionState | None = None,
           guides: GuideClassifier | None = None):
    router = Router(corpus, RecordedHits(hits), normalizer, guides=guides)
    return router.run(normalizer.run(text), session or SessionState(session_id="t"), "山东省")


def test_a_name_said_in_passing_gives_way_to_the_guide_retrieval_is_sure_of(corpus, normalizer, ids):
    """吃低保 names 最低生活保障申请, but said as the family's situation: what is asked for is the allowance, which
    retrieval (reading the whole message) ranks far above the named matter."""
    allowance, low = ids["困难残疾人生活补贴申请"], ids["最低生活保障申请"]
    text = "我爸一直吃低保，腿脚也残疾了，想给他申请残疾人的生活补贴"
    decision = decide(corpus, normalizer, text, [hit(corpus, allowance, 0.75), hit(corpus, low, 0.25, False)])
    assert decision.route is not None and decision.route.id == allowance


@pytest.mark.parametrize("low_score,low_confident", [(0.6, True), (0.5, False)])
def test_a_name_retrieval_also_finds_or_that_is_close_to_the_top_stays_named(corpus, normalizer, ids, low_score,
                                                                             low_confident):
    allowance, low = ids["困难残疾人生活补贴申请"], ids["最低生活保障申请"]
    text = "我爸一直吃低保，腿脚也残疾了，想给他申请残疾人的生活补贴"
    decision = decide(corpus, normalizer, text,
                      [hit(corpus, allowance, 0.75), hit(corpus, low, low_score, low_confident)])
    assert decision.reason == RouteReason.NAMED and decision.route.id == low


def test_a_name_gives_way_when_retrieval_and_the_classifier_agree_on_another_guide(corpus, normalizer, ids, guides):
    """公积金贷款 is an alias of the loan application, said here as what the debt is; what is asked is paying it off
    early. Retrieval ranks the prepayment well above the named matter and the classifier prefers it too."""
    loan, prepay = ids["个人住房公积金贷款申请"], ids["住房公积金贷款提前还款"]
    text = "房子是公积金贷款买的，手头宽裕了，想把剩下的贷款提前还掉"
    hits = [hit(corpus, prepay, 0.80), hit(corpus, loan, 0.45)]
    decision = decide(corpus, normalizer, text, hits, guides=guides)
    assert decision.route is not None and decision.route.id == prepay
    # retrieval alone (confident of the named matter too) or retrieval close to the name: the name stands
    assert decide(corpus, normalizer, text, hits).route.id == loan
    close = [hit(corpus, prepay, 0.80), hit(corpus, loan, 0.75)]
    assert decide(corpus, normalizer, text, close, guides=guides).route.id == loan


def test_a_name_after_an_asking_verb_is_asked_for_whatever_retrieval_ranks(corpus, normalizer, ids):
    allowance, low = ids["困难残疾人生活补贴申请"], ids["最低生活保障申请"]
    text = "我爸腿脚残疾了，家里也困难，听说得先申请低保"
    decision = decide(corpus, normalizer, text, [hit(corpus, allowance, 0.75), hit(corpus, low, 0.25, False)])
    assert decision.reason == RouteReason.NAMED and decision.route.id == low


def test_a_message_naming_another_service_is_no_pick_of_an_option_sharing_a_word(corpus, normalizer, ids):
    """登记 is in an option's title, but 协议离婚 names a service none of the options is: it is asked for."""
    divorce = ids["内地居民离婚登记"]
    options = [ids["二手房转移登记及水电气网联动过户一件事"], ids["退休一件事"], ids["教育入学一件事"]]
    pending = PendingClarify(kind="route", question="您想办理哪一类事情？",
                             options=[ClarifyOption(id=i, title=corpus.get(i).title) for i in options],
                             routes=[route_of(corpus, i) for i in options])
    text = "跟老公商量好了协议离婚，想约个时间去登记"
    decision = decide(corpus, normalizer, text, [hit(corpus, divorce, 0.7)],
                      SessionState(session_id="t", pending=pending))
    assert decision.route is not None and decision.route.id == divorce
    picked = decide(corpus, normalizer, "第一个", [], SessionState(session_id="t", pending=pending))
    assert picked.reason == RouteReason.PICKED_OPTION and picked.route.id == options[0]


def test_a_situation_keyword_inside_another_word_answers_no_situation(corpus, normalizer):
    router = Router(corpus, RecordedHits([]), normalizer)
    scenario = next(s.id for s in corpus.scenarios.values() if "租房" in router.situation_words.get(s.id, ()))
    assert router.answers_situation(scenario, normalizer.run("我们家是租房住的"))
    assert not router.answers_situation(scenario, normalizer.run("想申请政府的廉租房"))  # 廉租房 is its own word


def test_words_every_one_thing_title_shares_name_no_new_topic(corpus, normalizer, ids):
    """一件 is in every 一件事's title: 「最好一件事办完」 on a 一件事 asks nothing of another one."""
    restaurant, enterprise = ids["开办餐饮店一件事"], ids["企业开办一件事"]
    session = SessionState(session_id="t", route=route_of(corpus, restaurant))
    decision = decide(corpus, normalizer, "最好一件事都办完", [hit(corpus, enterprise, 0.37)], session)
    assert decision.followup and decision.route.id == restaurant


def test_a_faq_whose_guides_retrieval_did_not_find_leads_to_the_guide_it_found(corpus, normalizer):
    """A FAQ answers, and the user goes on with a guide: one of its related guides retrieval ranks, else the
    confident guide retrieval found, not the first related guide the message never asked about."""
    faq = next(f for f in corpus.faqs.values() if len(f.related) >= 2 and all(r in corpus.matters or r in
                                                                              corpus.scenarios for r in f.related))
    other = next(m.id for m in corpus.matters.values() if m.id not in faq.related and m.region == faq.region)
    router = Router(corpus, RecordedHits([]), normalizer)
    msg = normalizer.run("这个怎么办")
    found = [hit(corpus, faq.id, 0.63), hit(corpus, other, 0.54)]
    assert router.guide_of_faq(found[0], found, None, msg) == other
    ranked = [*found, hit(corpus, faq.related[1], 0.3, False)]
    assert router.guide_of_faq(ranked[0], ranked, None, msg) == faq.related[1]


def test_a_faq_leads_to_the_related_guide_its_question_is_about(corpus, normalizer):
    """Of a FAQ's related guides retrieval ranks, the one whose title shares the FAQ question's words goes first,
    even ranked a little below a related guide the question does not name: the FAQ matched the message."""
    router = Router(corpus, RecordedHits([]), normalizer)

    def overlap(faq, guide):
        return sum(w in normalize(faq.question) for w in router._own_words.get(guide, ()) if w not in router.generic_words)

    faq, named, unnamed = next((f, a, b) for f in corpus.faqs.values() for a in f.related for b in f.related
                               if a in router._own_words and b in router._own_words
                               and overlap(f, a) > 0 and overlap(f, b) == 0 and a not in router.members.get(b, ()))
    found = [hit(corpus, faq.id, 0.6), hit(corpus, unnamed, 0.3, False), hit(corpus, named, 0.29, False)]
    assert router.guide_of_faq(found[0], found, None, normalizer.run("这个怎么办")) == named


def test_a_need_spanning_members_goes_to_their_one_thing(corpus, normalizer, ids):
    """A member matter ranked first with its 一件事 close behind: a message that also says another member's title
    word (参保 beside 上户口) asks for the 一件事; one that says only the member's own need keeps the member."""
    birth, household = ids["新生儿出生一件事"], ids["出生登记（新生儿入户）"]
    found = [hit(corpus, household, 0.5), hit(corpus, birth, 0.48)]
    both = decide(corpus, normalizer, "孩子刚生下来，上户口和参保要一起去吗", found)
    assert both.reason == RouteReason.TOP_HIT and both.route.id == birth
    one = decide(corpus, normalizer, "孩子刚生下来，上户口要带什么", found)
    assert one.reason == RouteReason.TOP_HIT and one.route.id == household
    # well ahead of its 一件事, the member is what retrieval read the message as: the other word is context
    ahead = decide(corpus, normalizer, "孩子刚生下来，上户口和参保要一起去吗", [hit(corpus, household, 0.7), found[1]])
    assert ahead.route.id == household


@pytest.mark.parametrize("text", [
    "我是东关街道幸福社区的网格员周敏，电话 138 1234 5678",   # who the speaker is and where they work
    "老人的信息：王桂兰，身份证 370102194501012345",          # whose data, nothing asked
    "我公公 李长河 370102 1950 0101 2345",
])
def test_people_and_their_data_alone_ask_for_no_service(corpus, normalizer, ids, text):
    """Retrieval finds guides in person words (a 网格员 in the steps of 特困人员救助供养认定), yet such a message asks
    for nothing yet: no route, so the data is kept for the service the next message names."""
    decision = decide(corpus, normalizer, text, [hit(corpus, ids["特困人员救助供养认定"], 0.6)])
    assert decision.route is None and decision.reason == RouteReason.INTRODUCTION


def test_people_with_a_need_or_within_a_session_still_route(corpus, normalizer, ids):
    care = ids["特困人员救助供养认定"]
    hits = [hit(corpus, care, 0.6)]
    text = "我是网格员周敏，电话13812345678，帮孤寡老人申请特困供养"   # a need said beside the people
    assert decide(corpus, normalizer, text, hits).route.id == care
    session = SessionState(session_id="t", route=route_of(corpus, care))      # data for the service in hand
    followup = decide(corpus, normalizer, "我是网格员周敏，电话13812345678", hits, session)
    assert followup.route is not None and followup.route.id == care


@pytest.mark.parametrize("text, generic", [
    ("社保卡咋整", True),           # one word six services share, and a way of asking how
    ("公积金咋弄", True),
    ("社保卡丢了怎么办", False),     # 丢了 says what is to be done (补, 挂失)
    ("社保卡怎么激活", False),
])
def test_one_shared_word_asked_how_is_generic_unless_an_action_is_said(corpus, normalizer, text, generic):
    router = Router(corpus, RecordedHits([]), normalizer)
    msg = normalizer.run(text)
    assert router.is_generic(msg, normalizer.topic_tokens(msg)) is generic


@pytest.fixture(scope="module")
def reading_normalizer(corpus):
    """The pipeline's normaliser: with the pinyin reader over the corpus's words (homophones of its words)."""
    from agent.normalize import PinyinReader
    from agent.pipeline import _vocabulary

    return Normalizer(pinyin=PinyinReader(lambda: _vocabulary(corpus)))


@pytest.mark.parametrize("text, generic", [
    ("俺寻思补办个证 得咋弄嘞", True),           # 寻思, 个证, 嘞: words no guide uses; 补办 alone names no service
    ("来电人咨询社保卡业务，未说明具体事项", True),  # the note itself says which one is left open
    ("俺闺女说不清是啥事 让俺问问公积金", True),
    ("身分证丢了咋补", False),                   # 身分证 sounds like 身份证: a service word typed wrong, kept
    ("建公墓要谁审批", False),                    # 公墓 is the short form of 公共墓地 in a title: kept
    ("挖掘机的操作证丢了咋补", False),             # 挖掘机: a thing the dictionary knows, though no title says it
    ("俺寻思把居住证签注一下", False),            # a service named among the dialect words
    ("医保那事儿咋整，中不中", True),              # 事儿 is 事情 said in the north; 中不中 asks, names nothing
    ("户口弄回来咋弄", True),                     # 回来 says which way, not which of the 户口 services
])
def test_words_no_guide_uses_do_not_make_a_vague_message_specific(corpus, reading_normalizer, text, generic):
    router = Router(corpus, RecordedHits([]), reading_normalizer)
    msg = reading_normalizer.run(text)
    assert router.is_generic(msg, reading_normalizer.topic_tokens(msg)) is generic


def test_a_later_message_pointing_back_at_the_service_in_hand_stays_on_it(corpus, normalizer, ids):
    """医院 and 证明 find 出生医学证明 first; 办这个 points back at the 门诊慢特病 application being discussed."""
    chronic, birth = ids["门诊慢特病待遇认定"], ids["出生医学证明首次签发"]
    session = SessionState(session_id="t", route=route_of(corpus, chronic))
    hits = [hit(corpus, birth, 0.8)]
    decision = decide(corpus, normalizer, "对了 办这个要钱吗 要不要去医院开证明", hits, session)
    assert decision.followup and decision.route.id == chronic
    moved = decide(corpus, normalizer, "对了 要不要去医院开证明", hits, session)
    assert moved.route is not None and moved.route.id == birth


def test_clauses_that_only_say_who_the_people_are_are_not_searched():
    """我是她孙子 names no service, yet 孙子 finds 入学 and 出生登记: such clauses are left out of what is searched,
    unless nothing else is left."""
    from agent.router import PeopleWords

    people = Normalizer(people=PeopleWords.load().person)
    text = "奶奶去世了，要去派出所把她户口销了，我是她孙子，电话留我的"
    assert "孙子" not in people.run(text).search_text and "户口销了" in people.run(text).search_text
    assert "孙子" in Normalizer().run(text).search_text
    assert "孩子爸爸" in people.run("我是孩子爸爸").search_text


def test_a_message_of_personal_values_only_searches_nothing_and_asks_no_which_service(corpus, normalizer, ids):
    """身份证… 电话… in groups: without its values nothing is left to search. Searching the values' labels instead
    (身份证) asked which 证 was meant; the data is kept until a message names the service."""
    msg = normalizer.run("身份证370181 1998 0923 0985 电话176 5753 7990")
    assert msg.has_personal_data and msg.search_text == "" and msg.tokens == []
    card = ids["居民身份证换领、补领"]
    decision = decide(corpus, normalizer, "身份证370181 1998 0923 0985 电话176 5753 7990", [hit(corpus, card, 0.5)])
    assert decision.clarify is None and decision.route is None and decision.reason == RouteReason.INTRODUCTION
