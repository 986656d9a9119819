"""The held-out QA table (eval/heldout.py): every sample and FAQ question mapped to its document, and absent
from the index it is searched in."""
from corpus.loader import load_corpus
from eval.heldout import by_source, held_out_corpus, qa_table
from eval.metrics import rank_metrics
from index.units import document_units
from tests.conftest_index import make_small_corpus


def test_heldout_table_maps_questions_and_keeps_them_out_of_the_index(tmp_path):
    corpus = load_corpus(make_small_corpus(tmp_path / "corpus"))
    pairs = qa_table(corpus)
    by_doc = {p.doc_id for p in pairs}
    assert "driver-license-renewal" in by_doc and "newborn-event" in by_doc
    assert any(p.source == "faq" and p.question == "驾驶证过期多久不能换" for p in pairs)
    folds = {p.fold(2) for p in pairs}
    assert folds == {0, 1}  # the hash spreads the questions over both folds
    for fold in (0, 1):
        held = [p for p in pairs if p.fold(2) == fold]
        kept = [p for p in pairs if p.fold(2) != fold]
        copy = held_out_corpus(corpus, held)
        texts = "\n".join(u.text + "\n" + u.embed_text for d in copy.documents() for u in document_units(d))
        for p in held:
            assert p.question not in texts, p
        for p in kept:  # the other fold stays indexed, as in service
            assert p.question in texts, p
    # The FAQ's answer stays when its question is held out.
    faq = next(p for p in pairs if p.source == "faq")
    copy = held_out_corpus(corpus, [faq])
    doc = copy.get(faq.doc_id)
    assert any(qa.a and not qa.q for qa in doc.faqs)
    # The source corpus is untouched.
    assert faq.question in [qa.q for qa in corpus.get(faq.doc_id).faqs]


def test_rank_metrics():
    m = rank_metrics([1, 2, None, 5], k=10)
    assert m["recall@1"] == 0.25 and m["recall@5"] == 0.75 and m["recall@10"] == 0.75
    assert abs(m["mrr"] - (1 + 0.5 + 0.2) / 4) < 1e-4


def test_figures_by_source_keep_faq_questions_apart():
    # Hybrid leads overall (3 of 4 first) while dense alone is better on the FAQ questions: the split shows it.
    rows = [{"source": "sample_question", "hybrid": 1, "dense": 3},
            {"source": "sample_question", "hybrid": 1, "dense": None},
            {"source": "faq", "hybrid": 1, "dense": 1},
            {"source": "faq", "hybrid": 2, "dense": 1}]
    split = by_source(rows, ["hybrid", "dense"], k=10)
    assert set(split) == {"sample_question", "faq"}
    assert split["faq"]["dense"]["recall@1"] == 1.0 and split["faq"]["hybrid"]["recall@1"] == 0.5
    assert split["sample_question"]["hybrid"]["mrr"] == 1.0
    assert split["sample_question"]["dense"]["queries"] == 2
    assert abs(split["sample_question"]["dense"]["mrr"] - (1 / 3) / 2) < 1e-4
