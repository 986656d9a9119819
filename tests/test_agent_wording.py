"""Routing that survives real wording: homophones of service words (agent/homophones.py), dialect, filler,
hotline operator notes and switch cues (agent/wording.py, data/wording.yaml). Unit checks on the readers, and
end to end on the real index over the corpus slice of tests/conftest_agent.py: each routed message is one that
routed elsewhere (or nowhere) when read as written."""
from __future__ import annotations

import pytest

from agent.homophones import HomophoneReader
from agent.normalize import Normalizer
from agent.pipeline import Assistant
from agent.wording import Wording
from index.text import plain_tokenizer
from tests.conftest_agent import agent_settings

WORDS = ["社会保障卡", "社保卡", "住房公积金", "公积金", "户口簿", "营业执照", "出生证", "区住建局", "住建局", "医保",
         "社保"]
NAMES = ["社会保障卡申领", "社保缴费查询", "医保参保登记"]


@pytest.fixture(scope="module")
def reader():
    return HomophoneReader(lambda: WORDS, lambda: NAMES, plain_tokenizer())


@pytest.fixture(scope="module")
def assistant():
    a = Assistant.from_settings(agent_settings("none"))
    a.normalizer.homophones.warm()
    return a


@pytest.mark.parametrize("written,read", [
    ("俺那社宝卡丢了", "俺那社保卡丢了"),
    ("公机金怎么提取", "公积金怎么提取"),
    ("户口部丢了怎么补", "户口簿丢了怎么补"),
    ("营业执找要带原件吗", "营业执照要带原件吗"),
    ("社宝缴费记录在哪查", "社保缴费记录在哪查"),  # a two-character word of a title, same tones
])
def test_homophones_of_service_words_are_read_as_the_words(reader, written, read):
    assert reader.read(written) == read


@pytest.mark.parametrize("text", [
    "孩子出生正常吗",      # 出生正 sounds like 出生证, but 正 belongs to 正常
    "户口不迁可以吗",      # 不 is a word of its own next to 户口, not a misheard 簿
    "要去住建局登记吗",    # 去 stands before 住建局; 区住建局 is another word
    "我想一包东西",        # 一包 is a word: two characters need a shared character and no word of their own
    "戶口簿丢了",          # Traditional characters of the right word are no homophone
    "营业执照要带原件吗",  # the word as written stays
])
def test_words_that_merely_sound_alike_stay_as_written(reader, text):
    assert reader.read(text) == text


def test_dialect_filler_and_operator_wording_read_as_plain_words():
    wording = Wording()
    assert wording.run("俺娃刚生下来咋整啊，要办啥").text == "我孩子刚生下来怎么办啊，要办什么"
    assert wording.run("嗯 就是说 出生证明在哪开").text == "出生证明在哪开"
    assert wording.run("来电人称其母亲在家中病故，咨询后续手续").text == "我的母亲在家中病故，咨询后续手续"
    assert wording.run("市民来电咨询：开宾馆要办哪些证").text.startswith("我想问")


def test_a_stretch_of_time_the_speaker_lives_through_asks_no_time_limit():
    normalizer = Normalizer()
    meanwhile = normalizer.run("驾驶证换证那段时间想开车出门怎么办")
    assert "期间" in meanwhile.text and "time_limit" not in meanwhile.aspects
    assert "time_limit" not in normalizer.run("医保卡挂失了，这几天看病怎么结算").aspects
    assert "time_limit" in normalizer.run("驾驶证换证要多长时间").aspects  # a real question of how long still is


def test_a_switch_cue_keeps_only_the_new_topic():
    wording = Wording()
    r = wording.run("算了，先不说注销了，另外问个事，公司年报最晚什么时候报")
    assert r.switched and r.text == "公司年报最晚什么时候报"
    r = wording.run("先不说这个了，身份证丢了在外地能补吗")
    assert r.switched and r.text == "身份证丢了在外地能补吗"
    assert not wording.run("想着干脆关了算了，注销公司麻烦吗").switched  # inside a clause it is no cue
    assert not wording.run("算了").switched                               # nothing new follows


def test_the_normaliser_reads_plain_words_but_keeps_raw_as_typed(reader):
    normalizer = Normalizer(homophones=reader)
    msg = normalizer.run("俺的社宝卡丢了咋整")
    assert msg.raw == "俺的社宝卡丢了咋整"           # forms and safety checks read what was typed
    assert msg.focused == "我的社保卡丢了怎么办" and "社保卡" in msg.text
    assert "俺" not in msg.tokens
    assert Normalizer().run("先不说这个了，社保卡丢了").switched


def test_a_homophone_laden_message_routes_like_the_correct_one(assistant):
    right = assistant.handle("营业执照要带原件吗")
    heard = assistant.handle("营业执找要带原件吗")  # as written it found nothing confident
    assert right.route is not None and heard.route is not None and heard.route.id == right.route.id


def test_a_dialect_message_routes_like_its_standard_form(assistant):
    standard = assistant.handle("我家孩子刚生下来，怎么办啊")
    dialect = assistant.handle("俺家娃刚生下来，咋整啊")  # as written: the 落户 matter, not the 一件事
    assert standard.route is not None and standard.route.id == "newborn-birth"
    assert dialect.route is not None and dialect.route.id == standard.route.id


def test_a_switch_cue_with_a_new_topic_switches(assistant):
    first = assistant.handle("开饭店要办什么证")
    assert first.route is not None and first.route.id == "restaurant-opening"
    # Without the cue, 「宾馆要办什么证」 right after stays on 开饭店 (a short follow-up naming no title).
    stays = assistant.handle("宾馆要办什么证", session_id=first.session_id)
    assert stays.route is not None and stays.route.id == "restaurant-opening"
    again = assistant.handle("开饭店要办什么证")
    switched = assistant.handle("先不说这个，宾馆要办什么证", session_id=again.session_id)
    fresh = assistant.handle("宾馆要办什么证")  # what a new session gets for the same words
    assert switched.route is None or switched.route.id != "restaurant-opening"
    assert (switched.route and switched.route.id) == (fresh.route and fresh.route.id)
    assert [o.id for o in (switched.clarify.options if switched.clarify else [])] == \
        [o.id for o in (fresh.clarify.options if fresh.clarify else [])]
    assert any(o.id == "hotel-opening" for o in (switched.clarify.options if switched.clarify else [])) or \
        (switched.route is not None and switched.route.id == "hotel-opening")


def test_where_to_apply_is_answered_with_windows_and_online_channels(assistant):
    """「在哪报名」 asks where to do it: the service windows and the online channels both answer it; 「地址」 asks
    for the windows only."""
    assert {"places", "online"} <= set(Normalizer().run("在哪报名").aspects)
    assert Normalizer().run("窗口地址是什么").aspects == ["places"]
    reply = assistant.handle("开办餐饮店一件事在哪报名")
    assert reply.route is not None and reply.route.id == "restaurant-opening"
    assert "**办理地点**" in reply.answer and "**网上办理**" in reply.answer


def test_a_look_alike_that_names_no_service_is_out_of_scope(assistant):
    """Nothing found and no word any service is named by: answered as out of scope, not as a guide we failed to
    find; a message with a service word that finds nothing keeps the no-match reply (and the hotline)."""
    msg = assistant.normalizer.run("红烧肉怎么做才不腻？")
    assert assistant.router.service_words(msg) == []
    reply = assistant.handle("红烧肉怎么做才不腻？")
    assert reply.intent.name == "out_of_scope" and reply.route is None
    assert assistant.router.service_words(assistant.normalizer.run("社保卡上的芯片是哪家厂造的")) == ["社保卡"]


def test_names_given_with_the_numbers_are_not_searched():
    from agent.forms import SlotExtractor
    from tests.conftest_prefill import make_id

    text = f"办离婚手续，施海洋，{make_id('370202', '19850917', '619')}，18577737111"
    plain = Normalizer().run(text)
    read = Normalizer(names=SlotExtractor().name_spans).run(text)
    assert "海洋" in plain.search_text  # 海洋 would pull 用海 titles
    assert "海洋" not in read.search_text and "离婚" in read.search_text
    assert read.raw == text  # forms still read everything


def test_a_companys_name_is_not_searched():
    from agent.forms import SlotExtractor

    text = "我们单位叫济南泉城物流有限公司，营业执照上的地址要变更"
    plain = Normalizer().run(text)
    read = Normalizer(companies=SlotExtractor().company_spans).run(text)
    assert "物流" in plain.search_text  # 物流 would pull 道路运输 titles
    assert "物流" not in read.search_text and "地址" in read.search_text and "变更" in read.search_text
    assert read.raw == text and not read.has_personal_data  # a company is no person's data
    assert Normalizer(companies=SlotExtractor().company_spans).run("开个烧烤店要办什么").search_text == "开个烧烤店要办什么"


def test_a_rare_surname_given_with_the_numbers_is_not_searched():
    from agent.forms import SlotExtractor
    from tests.conftest_prefill import make_id

    text = f"帮孙子交医保，孙子叫仉小龙，身份证{make_id('370725', '20230301', '113')}"
    read = Normalizer(names=SlotExtractor().name_spans).run(text)
    assert "仉" not in read.search_text and "医保" in read.search_text


def test_the_words_that_introduce_a_name_go_with_it():
    from agent.forms import SlotExtractor
    from tests.conftest_prefill import make_id

    text = f"帮我外婆补办社保卡，她叫江秀兰，身份证{make_id('510802', '19480312', '226')}，我叫罗一鸣，手机13688886666"
    read = Normalizer(names=SlotExtractor().name_spans).run(text)
    assert "叫" not in read.search_text  # left alone, 叫 reads as a change of name (姓名变更)
    assert "社保卡" in read.search_text and "江秀兰" not in read.search_text
    asked = Normalizer(names=SlotExtractor().name_spans).run(f"我叫罗一鸣，{make_id()}，想改名叫罗一")
    assert "改名" in asked.search_text and "罗" not in asked.search_text  # what is asked stays, both names go


@pytest.mark.parametrize("text, left", [
    ("开个没有犯罪记录的证明，考教师资格要用", "开个没有犯罪记录的证明"),
    ("用于出国留学，开个无犯罪证明", "开个无犯罪证明"),
    ("租房合同要网签备案，办居住证用，我是租客", "租房合同要网签备案，我是租客"),
    ("社保卡怎么用", "社保卡怎么用"),  # asks how to use it: no purpose clause
    ("医保卡能不能给家人用", "医保卡能不能给家人用"),
    ("办居住证用", "办居住证用"),  # nothing else left: kept as it is
])
def test_a_clause_that_says_what_the_result_is_for_is_not_searched(text, left):
    assert Wording().without_purpose(text) == left


def test_the_purpose_clause_is_not_what_routing_searches():
    msg = Normalizer().run("开个无犯罪记录证明，考教师资格要用")
    assert "教师" not in msg.search_text and "教师" not in msg.text and "无犯罪记录证明" in msg.search_text
    assert "教师资格" in msg.raw  # forms and safety still read everything


@pytest.mark.parametrize("text, died", [
    ("俺爹昨儿个在家里走了，后头的手续咋整", True),
    ("我老伴前天没了，要办啥手续", True),
    ("我的钱没了", False),  # no family word: a thing gone
    ("快递员走了，件没送到", False),
    ("孩子走了三个月了还没上户口", False),  # a child who left, as people say it far more often
    ("我爸以后老了没人照顾咋办", False),  # growing old, still to come
    ("老伴说再不交保险老了以后没指望", False),
    ("俺娘前年就老了，房子要过户", True),
    ("俺爹走了咋办", True),  # only 老了 also says growing old
    ("我爸走了以后户口怎么销", True),
])
def test_how_people_say_a_relative_died_is_read_as_died(text, died):
    assert ("去世" in Wording().run(text).text) is died
