"""The verifier's checks on real guides: a lead may name only departments the sources name, and may not say yes
where the sources say no (or the reverse). Each test shows both sides: what passes and what is caught."""
from __future__ import annotations

import pytest

from agent.compose import AnswerComposer
from agent.verifier import Verifier
from corpus.loader import load_corpus
from daoban.settings import get_settings
from index.text import normalize


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(get_settings().corpus_dir)


@pytest.fixture(scope="module")
def verifier():
    return Verifier()


def _sources(corpus, doc):
    composed = AnswerComposer(corpus).run(doc, {}, [])
    return list(composed.sources.values()) + [composed.spoken]


def test_a_department_the_sources_name_passes_and_an_invented_one_is_caught(corpus, verifier):
    doc = next(m for m in corpus.matters.values() if m.department.endswith("局") and "税务" not in m.department
               and "税务" not in " ".join(_sources(corpus, m)))
    sources = _sources(corpus, doc)
    assert verifier.run(f"到{doc.department}办理。", sources).ok
    bad = verifier.run("到县税务局办理。", sources)
    assert not bad.ok and "县税务局" in bad.unsupported


def test_a_yes_or_no_that_contradicts_the_sources_is_caught(corpus, verifier):
    doc = next(m for m in corpus.matters.values() if m.online and m.fee and "不收费" in m.fee)
    sources = _sources(corpus, doc)
    channel = doc.online[0].name
    assert verifier.run(f"可以在{channel}网上办理。", sources).ok
    assert verifier.run("办理不收费。", sources).ok
    caught = verifier.run(f"不能在{channel}网上办理。", sources)
    assert not caught.ok and any("不能" in u for u in caught.unsupported)


def test_a_question_or_a_claim_the_sources_do_not_address_is_left_alone(corpus, verifier):
    doc = next(m for m in corpus.matters.values() if m.online)
    sources = _sources(corpus, doc)
    assert verifier.run("需要本人到场吗？", sources).ok       # asks, claims nothing
    assert verifier.run("不需要带宠物。", sources).ok         # nothing in the sources says yes or no about it


def test_the_composed_answers_pass_their_own_sources(corpus, verifier):
    """What the composer writes is taken from the sources: the new checks find nothing wrong in it."""
    composer = AnswerComposer(corpus)
    flagged = []
    for doc in [*corpus.scenarios.values(), *corpus.matters.values()]:
        composed = composer.run(doc, {}, [])
        src = normalize("\n".join(list(composed.sources.values()) + [composed.spoken]))
        for text in (composed.spoken, composed.llm_facts()):
            body = normalize(text)
            flagged += verifier.unknown_departments(body, src.replace(" ", "")) + verifier.contradictions(body, src)
    assert len(flagged) <= 3, flagged[:10]


def test_a_department_by_its_short_name_passes_and_another_short_name_is_caught(corpus, verifier):
    """住建局 for 住房和城乡建设局, 医保局 for 医疗保障局: a short name takes the full name's characters in order."""
    doc = next(m for m in corpus.catalog.values() if m.department.endswith("区医疗保障局"))
    sources = _sources(corpus, doc)
    assert verifier.run("到区医保局办理。", sources).ok
    assert verifier.run("可以去医保局问问。", sources).ok
    caught = verifier.run("到区民政局办理。", sources)
    assert not caught.ok and "区民政局" in caught.unsupported


def test_a_material_by_another_of_its_names_or_with_the_leads_own_words_passes(corpus, verifier):
    """户口本 for 户口簿; 带上本人身份证: the words before the name are the lead's. An invented material is still
    caught: a 证明 the sources do not name (证明 alone names nothing)."""
    doc = corpus.matters["assistive-device-provision"]
    sources = _sources(corpus, doc)
    src = "".join(sources)
    assert "户口簿" in src and "户口本" not in src and "身份证" in src
    assert verifier.run("还要带上户口本和本人的身份证。", sources).ok
    caught = verifier.run("还要带上收入证明。", sources)
    assert not caught.ok and "收入证明" in caught.unsupported


def test_free_is_supported_by_any_of_the_free_words(corpus, verifier):
    doc = next(m for m in corpus.matters.values() if m.fee and "免收" in m.fee and "不收费" not in m.fee
               and "免费" not in m.fee)
    sources = _sources(corpus, doc)
    assert verifier.run("首次申领免费。", sources).ok
    doc = next(m for m in corpus.matters.values() if m.fee and "元" in m.fee
               and not any(w in "".join(_sources(corpus, m)) for w in verifier.words.free_words))
    assert not verifier.run("办理免费。", _sources(corpus, doc)).ok
