"""Look-alikes (issue 15) on real components: the real agent/data/lookalike.yaml, and the real assistant (index
over a slice of the real corpus, no LLM). A business's own product, another country's procedure and a complaint
put as a question are told apart from the consults they resemble; the government services that share their
words (宽带 in 水电气网报装, 开宾馆, a child born abroad who comes home) stay consults."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.intent import IntentResult
from agent.lookalike import DEFAULT_PATH, LookAlikeKind, LookAlikes, load_lookalike_data
from agent.pipeline import Assistant
from corpus.datafile import DataFileError
from tests.conftest_agent import agent_settings

COMMERCIAL = ["美团上订的酒店临时不去了，订单能取消吗", "电信的副卡一个月多少钱", "建设银行信用卡分期的手续费怎么算",
              "想买辆新能源车，哪个牌子续航最长", "圆通寄到北京的运费多少", "私立培训班的学费能退吗",
              "种小麦选什么品种好", "快手的主播号被封了咋解", "托福在济南哪考，考位怎么抢"]
ABROAD = ["在英国怎么考驾照", "在新加坡注册公司需要什么材料", "法国签证要准备哪些材料",
          "人在德国读书，居留许可快到期了咋续", "澳大利亚的PR排期多长"]
COMPLAINTS = ["为什么人社局让我去街道，街道又让我去人社局，到底谁管",
              "退休申请交了两个月了还没消息，这效率也太低了吧",
              "网上申报一直提示失败，打电话也没人接，凭什么",
              "材料交上去每次退回来的说法都不一样，到底要怎样才给办",
              "低保申请被驳回了也不说为什么，什么工作效率"]
# the same words in a government matter: these stay what the classifier says
IN_SCOPE = ["开宾馆要办什么许可证", "宽带和水电能一起报装吗", "在泰国生的孩子回国怎么办出生登记",
            "外国人来山东工作要办什么许可", "我是韩国人，在济南结婚要什么材料", "医保卡在哪个银行激活",
            "汉堡店开业要办什么证", "为什么出生登记要先办出生医学证明", "退休手续一般要多久",
            "老板拖欠工资两个月了，到底谁管", "养老金资格认证人在国外怎么做",
            "外国人在山东工作，居留许可到期怎么延期", "雅思成绩能用来认定学历吗", "普通话水平测试在哪报名"]


@pytest.fixture(scope="module")
def lookalikes():
    return LookAlikes.load()


@pytest.fixture(scope="module")
def assistant():
    return Assistant.from_settings(agent_settings("none"))


@pytest.mark.parametrize("message,kind", [*((m, LookAlikeKind.commercial) for m in COMMERCIAL),
                                          *((m, LookAlikeKind.abroad) for m in ABROAD),
                                          *((m, LookAlikeKind.complaint) for m in COMPLAINTS)])
def test_each_kind_is_recognised_by_its_parts(lookalikes, message, kind):
    verdict = lookalikes.check(message)
    assert verdict is not None and verdict.kind is kind, (message, verdict)
    assert verdict.evidence  # which class and term made it, for the log


@pytest.mark.parametrize("message", IN_SCOPE)
def test_government_matters_that_share_the_words_are_no_lookalike(lookalikes, message):
    assert lookalikes.check(message) is None, (message, lookalikes.check(message))


def test_traditional_and_full_width_are_read_like_simplified(lookalikes):
    assert lookalikes.check("在英國怎麼考駕照").kind is LookAlikeKind.abroad
    assert lookalikes.check("美團上訂的酒店，訂單能取消嗎？").kind is LookAlikeKind.commercial


def test_a_person_from_abroad_is_no_place_abroad(lookalikes):
    assert lookalikes.check("在日本怎么办结婚证") is not None
    assert lookalikes.check("日本人在济南怎么办结婚证") is None


@pytest.mark.parametrize("message", COMMERCIAL[:3] + ABROAD[:2])
def test_out_of_scope_lookalikes_get_no_guide_and_say_where_to_go(assistant, message):
    r = assistant.handle(message)
    assert r.intent.name == "out_of_scope" and r.route is None and r.form is None and not r.citations, message
    assert "客服" in r.answer or "使领馆" in r.answer, r.answer


@pytest.mark.parametrize("message", COMPLAINTS)
def test_a_complaint_put_as_a_question_is_a_complaint(assistant, message):
    r = assistant.handle(message)
    assert r.intent.name == "complaint" and r.handoff and r.route is None, message
    assert "12345" in r.answer


@pytest.mark.parametrize("message", ["开宾馆要办什么许可证", "宽带和水电能一起报装吗", "孩子在泰国出生的，回国以后怎么落户"])
def test_the_government_neighbours_are_answered_from_their_guide(assistant, message):
    r = assistant.handle(message)
    assert r.intent.name == "consult" and r.route is not None and r.citations, message


def test_a_data_field_keeps_the_application_going(assistant):
    """A look-alike never takes over an application: a form being filled stays apply."""
    r1 = assistant.handle("我要办开办旅馆一件事")
    r2 = assistant.handle("酒店名称是泉城宾馆，房间价格每晚200元，电话13912345678", session_id=r1.session_id)
    assert r2.intent.name == "apply"


def _broken(tmp_path: Path, pattern: str, replacement: str) -> tuple[Path, int]:
    lines = DEFAULT_PATH.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if re.search(pattern, line))
    lines[n] = re.sub(pattern, replacement, lines[n])
    path = tmp_path / "lookalike.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, n + 1


@pytest.mark.parametrize("pattern,replacement,says", [
    (r"all: \[business, commerce_ask\]", "all: [business, commerce_asks]", "unknown class 'commerce_asks'"),
    (r"^  commercial: \[consult", "  commercal: [consult", "commercal"),
    (r"^    world_places: true", "    world_places: sometimes", "world_places"),
])
def test_a_broken_file_names_its_file_and_line(tmp_path, pattern, replacement, says):
    path, line = _broken(tmp_path, pattern, replacement)
    with pytest.raises(DataFileError) as err:
        load_lookalike_data(path)
    assert any(says in p for p in err.value.problems), err.value.problems
    assert any(p.startswith(f"{path}:{line}:") for p in err.value.problems), err.value.problems


def test_an_out_of_scope_kind_without_a_reply_is_refused(tmp_path):
    text = re.sub(r"^  abroad: >-\n(?:    .*\n)+", "  abroad: ''\n", DEFAULT_PATH.read_text(encoding="utf-8"), flags=re.M)
    path = tmp_path / "lookalike.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_lookalike_data(path)
    assert any("replies: no text for abroad" in p for p in err.value.problems), err.value.problems


@pytest.mark.parametrize("message,classified,expected", [
    (COMMERCIAL[0], "consult", "out_of_scope"), (COMMERCIAL[0], "human", "human"),
    (COMMERCIAL[0], "chitchat", "chitchat"), (ABROAD[0], "query_status", "out_of_scope"),
    (COMPLAINTS[1], "query_status", "complaint"), (COMPLAINTS[1], "apply", "apply"),
    (IN_SCOPE[0], "consult", "consult"),
])
def test_a_kind_replaces_only_the_intents_the_file_lets_it(lookalikes, message, classified, expected):
    result, verdict = lookalikes.apply(IntentResult(classified, 0.8, {}), message)
    assert result.name == expected
    assert (verdict is not None) == (expected != classified)
    assert result.source == ("lookalike" if verdict else "classifier")


@pytest.mark.parametrize("message,expected", [
    ("门口有人说给他两千就能插队办好房产证，还说认识里面的工作人员，你们到底管不管", "complaint"),
    ("窗口推来推去没人管，给我转人工", "human"),
])
def test_a_grievance_read_as_human_is_a_complaint_unless_it_asks_for_a_person(lookalikes, message, expected):
    """工作人员 pulls a grievance to human; the message, not the word, decides: a request for a person stays one."""
    result, _ = lookalikes.apply(IntentResult("human", 0.8, {}), message)
    assert result.name == expected, message


def test_a_kept_intent_names_a_class_the_file_defines(tmp_path):
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace("human: [asks_for_person]", "human: [asks_for_persons]")
    path = tmp_path / "lookalike.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_lookalike_data(path)
    assert any("keep: unknown class asks_for_persons" in p for p in err.value.problems), err.value.problems


@pytest.mark.parametrize("message,consult", [
    ("退休手续窗口办的话，多久给结果", True),          # 窗口 and 多久 are a complaint's words too: a detail question
    ("开饭店的食品经营许可在哪个窗口交材料", True),
    ("退休手续交了一个多月了还没批，到底要多久", False),  # waiting: a grievance
    ("窗口态度太差了，开饭店的许可要等多久", False),      # turned away
    ("为什么退休手续要等这么久", False),                  # indignation
])
def test_a_weak_complaint_that_asks_a_detail_of_a_service_is_a_consult(assistant, message, consult):
    """Read weakly as a complaint (as the classifier may read 窗口…多久), a message without a grievance's words that
    asks a detail of a service retrieval finds is a consult; with them it stays the complaint it is."""
    from agent.session import SessionState
    from agent.turn import Understood
    msg = assistant.normalizer.run(message)
    seen = assistant.scope.run(Understood(msg, IntentResult("complaint", 0.4, {}, "model")),
                               SessionState(session_id="weak-complaint"), None)
    assert (seen.intent.name == "consult") is consult, seen.intent
    strong = assistant.scope.run(Understood(msg, IntentResult("complaint", 0.8, {}, "model")),
                                 SessionState(session_id="strong-complaint"), None)
    assert strong.intent.name == "complaint"
