"""EvidenceFinder (精准回答) on real guides: a detail question gets the sentence that holds the detail first; a broad
question and a question whose detail the guide does not hold keep today's answer. Expected facts are read from the
corpus YAML."""
from __future__ import annotations

import pytest
from langchain_core.embeddings import Embeddings

from agent.evidence import Evidence, EvidenceFinder, EvidenceWords, sentences_of
from agent.normalize import Normalizer
from agent.pipeline import Assistant
from corpus.datafile import DataFileError
from corpus.loader import load_corpus
from index.text import Tokenizer
from tests.conftest_agent import ROOT, agent_settings

HYGIENE = "public-place-hygiene-license"   # a member of hotel-opening: in the indexed slice


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(ROOT / "corpus" / "data")


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer()  # its own: never teach the shared plain tokenizer words


@pytest.fixture(scope="module")
def finder(tokenizer):
    return EvidenceFinder(tokenizer)


@pytest.fixture(scope="module")
def normalizer(tokenizer):
    return Normalizer(tokenizer=tokenizer)


def _faq_answer_with(doc, fact: str) -> tuple[int, str]:
    return next((i, qa.a) for i, qa in enumerate(doc.faqs) if fact in qa.a)


def test_sentences_cite_their_sections(corpus):
    doc = corpus.get(HYGIENE)
    sentences = sentences_of(doc)
    sections = {s.section.split(":")[0] for s in sentences}
    assert {"conditions", "materials", "steps", "time_limit", "fee", "faq"} <= sections
    i, answer = _faq_answer_with(doc, "4年")
    assert any(s.section == f"faq:{i}" and s.text in answer for s in sentences)


def test_detail_question_gets_the_sentence_holding_it(corpus, finder, normalizer):
    doc = corpus.get(HYGIENE)
    i, _ = _faq_answer_with(doc, "4年")
    found = finder.run(doc, normalizer.run("我们旅店的卫生许可证拿到手以后管几年？"))
    assert found.detail and "duration" in found.cues
    assert found.best is not None and "4年" in found.best.text and found.best.section == f"faq:{i}"
    assert found.line.startswith(found.best.text) and "常见问题" in found.line


def test_detail_in_a_condition(corpus, finder, normalizer):
    doc = corpus.get("divorce-registration")
    found = finder.run(doc, normalizer.run("协议离婚的冷静期是多少天"))
    assert found.best is not None and "30日" in found.best.text


def test_broad_question_is_not_a_detail_question(corpus, finder, normalizer):
    found = finder.run(corpus.get(HYGIENE), normalizer.run("开宾馆卫生许可证去哪里怎么办理"))
    assert not found.detail and found.best is None


def test_absent_detail_is_not_invented(corpus, finder, normalizer):
    # the guide states no grade or level (县级 is not one): a strict cue finds no sentence shaped like the answer
    doc = corpus.get(HYGIENE)
    assert not any(finder.shaped("level", s.text) for s in sentences_of(doc))
    found = finder.run(doc, normalizer.run("办卫生许可证要求消防达到几级"))
    assert found.detail and found.best is None


def test_broken_cue_pattern_stops_the_start(tmp_path):
    bad = tmp_path / "evidence.yaml"
    bad.write_text("cues:\n  duration:\n    words: [多久]\n    holds: ['(\\d+']\n", encoding="utf-8")
    with pytest.raises(DataFileError):
        EvidenceWords.load(bad)


# -- through the assistant (the indexed slice of the real corpus) ----------------------------------

@pytest.fixture(scope="module")
def assistant():
    return Assistant.from_settings(agent_settings("none"))


def _without_evidence(assistant: Assistant, monkeypatch, text: str):
    monkeypatch.setattr(assistant.evidence, "run", lambda doc, msg, bundle=(): Evidence())
    reply = assistant.handle(text)
    monkeypatch.undo()
    return reply


def test_reply_states_the_detail_first(assistant):
    reply = assistant.handle("公共场所卫生许可证的有效期是几年？")
    assert reply.route is not None and reply.route.id == HYGIENE
    first = reply.answer.splitlines()[0]
    assert "4年" in first
    assert reply.citations[0].section.startswith("faq:") and "4年" in reply.citations[0].snippet


@pytest.mark.parametrize("text", ["公共场所卫生许可证怎么办理", "公共场所卫生许可要求消防达到几级"])
def test_broad_or_absent_keeps_todays_answer(assistant, monkeypatch, text):
    reply = assistant.handle(text)
    before = _without_evidence(assistant, monkeypatch, text)
    assert reply.route is not None and reply.route.id == HYGIENE
    assert reply.answer == before.answer
    assert [c.section for c in reply.citations] == [c.section for c in before.citations]


def test_evidence_goes_first_in_text_citations_and_llm_facts(corpus, finder, normalizer):
    from agent.compose import AnswerComposer
    from agent.formatter import ChannelFormatter

    doc = corpus.get(HYGIENE)
    found = finder.run(doc, normalizer.run("卫生许可证有效期是几年"))
    composed = AnswerComposer(corpus).run(doc, {}, ["time_limit"])
    facts_before = composed.llm_facts()
    composed.lead_with(found.best.line, found.best.section, found.best.text)
    assert composed.text.splitlines()[0] == found.best.line
    assert composed.citations[0].section == found.best.section
    assert composed.llm_facts().splitlines()[0] == found.best.text
    assert composed.llm_facts().endswith(facts_before)
    assert found.best.text in ChannelFormatter().run("hotline", composed.text, composed).splitlines()[0]


def test_a_standalone_faq_answers_first_and_routes_to_its_guide(assistant, corpus):
    """An FAQ is evidence, not a destination: the reply routes to the guide it belongs to (so 情形 and 我要办
    go on from there), with the FAQ's answer first and cited as the FAQ itself."""
    faq = corpus.faqs["faq-pension-certification-missed"]
    reply = assistant.handle(faq.question)
    assert reply.route is not None and reply.route.kind in ("scenario", "matter")
    assert reply.route.id in faq.related
    assert reply.citations[0].doc_id == faq.id and reply.citations[0].section == "answer"
    assert faq.answer[:20] in reply.answer.split("\n\n")[0]  # the first block, under its 解答 heading
    assert any(c.doc_id == reply.route.id for c in reply.citations[1:])  # the guide's own sections follow


def test_an_faq_hit_prefers_the_related_guide_retrieval_ranks_first(assistant):
    from agent.router import Router

    router: Router = assistant.router
    corpus = assistant.corpus
    faq = next(f for f in corpus.faqs.values() if len(f.related) >= 2 and all(r in corpus.matters or r in
                                                                                 corpus.scenarios for r in f.related))
    Hit = type("Hit", (), {})
    def hit(doc_id):
        h = Hit(); h.doc_id = doc_id; h.confident = True
        h.kind = "faq" if doc_id in corpus.faqs else ("scenario" if doc_id in corpus.scenarios else "matter")
        return h
    second = faq.related[1]
    assert router.guide_of_faq(hit(faq.id), [hit(faq.id), hit(second)], None) == second
    assert router.guide_of_faq(hit(faq.id), [hit(faq.id)], None) == faq.related[0]
    assert router.guide_of_faq(hit(faq.id), [], region="不存在的地区") is None


def test_a_detail_held_by_a_member_matter_answers_the_question_about_the_一件事(assistant):
    """A 一件事 is its matters' process: when none of its own sentences holds the detail, the member's sentence is
    stated first and cited as that member."""
    reply = assistant.handle("开办餐饮店一件事，食品经营许可证有效期几年？")
    assert reply.route is not None and reply.route.id == "restaurant-opening"
    first = reply.answer.splitlines()[0]
    assert "5年" in first and "「食品经营许可」" in first
    assert reply.citations[0].doc_id == "food-business-license"


def test_a_yes_no_question_with_words_between_is_a_detail_question(corpus, finder, normalizer):
    """能…吗 asks as 能不能 does (the cue's `asks` patterns), and a word the tokenizer keeps whole (转租给) is read by
    the piece the guide uses (转租)."""
    doc = corpus.get("public-rental-housing-allocation")
    i, answer = next((i, qa.a) for i, qa in enumerate(doc.faqs) if "转租" in qa.a)
    found = finder.run(doc, normalizer.run("分到的房子能转租给亲戚住吗"))
    assert found.detail and "yesno" in found.cues
    assert found.best is not None and found.best.section == f"faq:{i}" and found.best.text in answer


def test_a_question_of_the_form_can_i_without_the_question_mark_word_is_not_a_detail(finder):
    assert finder.cues("我能办") == [] and finder.cues("能帮我查一下") == []
    assert "yesno" in finder.cues("在外地能补吗")


def test_two_sentences_standing_out_together_are_both_stated(corpus, finder):
    """Neither of two close sentences stands out alone, but together they stand above the rest: both are stated
    (the decision rule, on real sentences with the finder's scale); a third close one means no pair."""
    a, b, c, *_ = sentences_of(corpus.get("enterprise-deregistration-registration"))
    assert finder._pair([(1.5, a), (1.36, b), (0.95, c)]) == [a, b]
    assert finder._pair([(1.5, a), (1.36, b), (1.3, c)]) == []
    assert finder._pair([(1.5, a), (0.5, b)]) == []          # the second is below the floor
    assert finder._pair([(1.5, a), (1.45, a), (1.36, b), (0.95, c)]) == [a, b]  # the same sentence twice is one


@pytest.mark.parametrize("text", ["营业执照丢了要不要登报，换个新的要多久",
                                  "营业执照丢了要不要登报 换个新的要多久"])  # voice-to-text: a space, no comma
def test_a_clause_answered_by_two_agreeing_sentences_gets_its_line(corpus, finder, normalizer, text):
    """A message asking two details: the yes/no clause is answered by a FAQ answer and a material's note saying
    the same (neither stands out alone, together they do), so the clause still gets its line."""
    doc = corpus.get("business-license-reissue")
    _, answer = _faq_answer_with(doc, "作废声明")
    found = finder.run(doc, normalizer.run(text))
    assert found.detail and {"yesno", "duration"} <= set(found.cues)
    assert any(s.text in answer or "作废声明" in s.text for s in found.more), [s.text for s in found.more]


@pytest.mark.parametrize("text, cue", [
    ("孩子户口中不中迁过来", "yesno"),        # A不A, whatever the verb
    ("工伤那几个月单位还发工资不", "yesno"),   # a clause ending with 不
    ("补交的那几年有用没", "yesno"),          # …with 没
    ("材料寄过去了到了没有", "yesno"),
    ("是先办执照，还是先刻章", "yesno"),      # a choice between two
    ("领失业金期间医保谁来交", "who"),
    ("契税按百分之几交", "amount"),
])
def test_yes_no_questions_are_read_by_their_grammar(finder, normalizer, text, cue):
    assert cue in finder.cues(normalizer.run(text).text)


@pytest.mark.parametrize("text", ["我什么证也没有", "孩子户口还没", "俺娘也不", "要带什么材料"])
def test_statements_and_what_questions_ask_no_yes_or_no(finder, normalizer, text):
    assert "yesno" not in finder.cues(normalizer.run(text).text)


def test_a_dialect_yes_no_question_gets_the_faq_that_answers_it(corpus, finder, normalizer):
    doc = corpus.get("unemployment-insurance-benefit")
    i, answer = _faq_answer_with(doc, "一般不能领取")
    found = finder.run(doc, normalizer.run("俺是主动辞的工作 失业金还给发不"))
    assert found.detail and "yesno" in found.cues
    assert found.best is not None and found.best.section == f"faq:{i}"


class _Counting(Embeddings):
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.documents = inner, 0

    def embed_documents(self, texts):
        self.documents += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_sentence_vectors_find_a_detail_said_in_other_words_and_are_kept_on_disk(corpus, normalizer, tmp_path):
    """档案…自个儿带过去 shares no word with the sentence that answers it (机要转递…本人携带): the term overlap finds
    nothing, the sentence vectors find it. The vectors are kept on disk: a second finder (a restart) embeds none."""
    from daoban.settings import load_settings
    from index.embeddings import cached_embeddings, get_embeddings

    settings = load_settings(data_dir=tmp_path / "var")
    doc = next(m for m in corpus.matters.values() if m.title == "流动人员人事档案接收和转递")
    msg = normalizer.run("档案能不能我自个儿带过去")
    assert EvidenceFinder(normalizer.tokenizer).run(doc, msg).best is None
    first = _Counting(get_embeddings(settings))
    found = EvidenceFinder(normalizer.tokenizer, embed=cached_embeddings(settings, first)).run(doc, msg)
    assert found.best is not None and "机要" in found.best.text and first.documents > 0
    again = _Counting(get_embeddings(settings))
    found = EvidenceFinder(normalizer.tokenizer, embed=cached_embeddings(settings, again)).run(doc, msg)
    assert found.best is not None and "机要" in found.best.text and again.documents == 0


def test_sentence_vectors_are_warmed_once_per_index_version(tmp_path):
    """A start or an eval over an unchanged index reads nothing; a new index version is warmed again (from disk)."""
    from agent.evidence import warm_sentence_vectors
    from daoban.settings import load_settings
    from index.build import BuildReport, RegionReport

    corpus_dir = agent_settings("none").corpus_dir  # the indexed test corpus: a few guides
    settings = load_settings(data_dir=tmp_path / "var", corpus_dir=corpus_dir)

    def report(version: str) -> BuildReport:
        return BuildReport(version=version, regions=[RegionReport(region="山东省", version=version, documents=1,
                                                                  units=1, embedded=0, reused=0, removed=0)])

    guides = warm_sentence_vectors(settings, report("v1"))
    assert guides > 0 and any((settings.index_dir / "text-vectors").iterdir())
    assert warm_sentence_vectors(settings, report("v1")) == 0
    assert warm_sentence_vectors(settings, report("v2")) == guides
    assert warm_sentence_vectors(settings) == guides  # no report: always read


def test_the_guides_own_title_words_do_not_pick_its_sentence(corpus, normalizer, tmp_path, monkeypatch):
    """身份证…重新办…要钱不 on the ID card reissue guide: 身份证 and 补领 name the guide, every fee sentence has them
    (临时居民身份证10元 too). Counted as little as a word from elsewhere, they leave the choice to what was asked,
    and the reissue fee stands out; counted in full, nothing does."""
    import agent.evidence as evidence
    from daoban.settings import load_settings
    from index.embeddings import cached_embeddings, get_embeddings

    settings = load_settings(data_dir=tmp_path / "var")
    doc = next(m for m in corpus.matters.values() if m.title == "居民身份证换领、补领")
    finder = EvidenceFinder(normalizer.tokenizer, embed=cached_embeddings(settings, get_embeddings(settings)))
    msg = normalizer.run("身份证丢了重新办一张要钱不")
    found = finder.run(doc, msg)
    assert found.best is not None and "40元" in found.best.text and found.best.section.startswith("fee")
    monkeypatch.setattr(evidence, "TITLE_WEIGHT", 1.0)
    assert finder.run(doc, msg).best is None
