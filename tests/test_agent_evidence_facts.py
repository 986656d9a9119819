"""精准回答 on real guides, the classes of detail the answer used to miss: a question asked in words the guides do
not write (买家, 交够, 弄丢, 哪个卡), a kind of detail no cue knew (有什么用, 跑几趟, 还算不算, 还用…吗, 才能),
two questions in one message, a broad 怎么办 told in a story, a stretch of time said as 那几年, and a question that
asks what the whole service takes beside where it is done. Expected facts are read from the corpus YAML."""
from __future__ import annotations

import pytest

from agent.evidence import EvidenceWords, Sentence
from corpus.datafile import DataFileError
from tests.test_agent_evidence import corpus, finder, normalizer, tokenizer  # noqa: F401 - the same fixtures


def _sentence_with(doc, fact: str) -> str:
    """The guide's own words holding ``fact``: a condition, a material's note, a step or a FAQ answer."""
    texts = [qa.a for qa in doc.faqs] + list(doc.steps)
    for s in getattr(doc, "situations", []):
        texts += [*s.conditions, *s.steps, *(f"{m.name}：{m.notes or ''}" for m in s.materials)]
    texts += list(getattr(doc, "conditions", []))
    texts += [f"{m.name}：{m.notes or ''}" for m in getattr(doc, "materials", [])]
    return next(t for t in texts if fact in t)


def _picked(finder, normalizer, doc, text: str) -> list[str]:
    found = finder.run(doc, normalizer.run(text))
    assert found.detail, text
    return [s.text for s in found.picked]


def test_two_questions_each_get_their_sentence(corpus, finder, normalizer):
    # the second question's words (续租, 提前) no longer pull its answer into the first one's line
    doc = corpus.get("public-rental-housing-allocation")
    assert "5年" in _sentence_with(doc, "5年") and "3个月前" in _sentence_with(doc, "3个月前")
    picked = _picked(finder, normalizer, doc, "公租房合同一次最长签几年？期满还想住要提前多久去申请续租？")
    assert any("5年" in p for p in picked) and any("3个月前" in p for p in picked)


def test_margin_is_met_by_sums_of_floats(finder):
    a, b = Sentence("甲", "steps"), Sentence("乙", "steps")
    assert 1.5 - 1.3 < finder.MARGIN  # the float sum lands just under the margin it equals
    assert finder._stands_out([(1.5, a), (1.3, b)])


@pytest.mark.parametrize("doc_id, text, fact", [
    ("second-hand-house-transfer", "房子过户时契税归买家出还是卖家出", "买方缴纳契税"),
    ("housing-fund-loan", "公积金得连续交满多长时间才能申请贷款", "6个月"),
    ("business-license-reissue", "执照弄丢了还需要登报声明吗 多久能补好", "作废声明"),
    ("childcare-subsidy", "育儿补贴批下来钱发到哪个卡", "社会保障卡"),
    ("residence-permit", "办了居住证能有什么用", "义务教育"),
    ("enterprise-establishment", "开公司要跑几趟", "一次不用跑"),
    ("teacher-qualification-certification", "认定教师资格还用去开无犯罪证明吗", "承诺"),
])
def test_detail_asked_in_everyday_words_is_found(corpus, finder, normalizer, doc_id, text, fact):
    doc = corpus.get(doc_id)
    assert fact in _sentence_with(doc, fact)
    assert any(fact in p for p in _picked(finder, normalizer, doc, text))


def test_a_broad_word_in_a_story_leaves_the_question_a_detail(corpus, finder, normalizer):
    doc = corpus.get("flexible-employment-insurance")
    text = "我爸天天念叨没社保以后怎么办。我断缴了两年，原来交的那几年还算不算"
    assert finder._broad(normalizer.run(text).text)
    assert any("累计计算" in p for p in _picked(finder, normalizer, doc, text))
    # a broad question with a loose cue in the same clause is still broad
    assert not finder.run(doc, normalizer.run("灵活就业参保在哪里怎么办理")).detail


def test_a_stretch_of_time_is_no_duration_question(finder, normalizer):
    # 那几年 is when the speaker paid, not how long something takes
    assert "duration" not in finder.cues(normalizer.run("以前在外地交的那几年怎么算").text)
    assert "counted" in finder.cues(normalizer.run("以前在外地交的那几年怎么算").text)
    assert "duration" in finder.cues(normalizer.run("公租房能租几年").text)


def test_who_pays_needs_someone_doing_it(finder):
    assert finder.shaped("who", "买方缴纳契税、卖方缴纳应缴税费")
    assert not finder.shaped("who", "卖方税费和买方契税缴纳整合为一件事")


def test_what_the_whole_service_takes_is_the_whole_answer(normalizer):
    assert normalizer.run("开个小吃店要办什么证，在哪办").aspects == []
    assert {"places", "online"} <= set(normalizer.run("小吃店登记在哪办").aspects)


def test_everyday_word_must_differ_from_the_guides(tmp_path):
    bad = tmp_path / "evidence.yaml"
    bad.write_text("cues:\n  duration:\n    words: [多久]\n    holds: ['天']\neveryday:\n  买方: 买方\n",
                   encoding="utf-8")
    with pytest.raises(DataFileError):
        EvidenceWords.load(bad)
