"""The learned guide classifier (agent/guides.py) and the router's use of it: among the confident neighbours
retrieval ranks close together, the guide the classifier, trained on how each guide is asked for, prefers."""
from __future__ import annotations

import yaml

from agent.guides import GuideClassifier, training_texts
from agent.normalize import Normalizer
from agent.router import Router
from conftest_index import make_small_corpus
from corpus.loader import load_corpus
from index.types import Hit


def _corpus(tmp_path):
    root = make_small_corpus(tmp_path / "corpus")
    (root / "test" / "phrasings.yaml").write_text(yaml.safe_dump({"index_unreviewed": ["questions"], "entries": [
        {"id": "pension-certification", "title": "养老保险待遇资格认证",
         "questions": ["俺爹每年都得刷个脸才能领退休的钱", "老人领的养老钱要年年核一下身份咋弄"]},
        {"id": "housing-fund-withdrawal", "title": "住房公积金提取",
         "questions": ["单位给存的那笔买房的钱能取出来吗", "租房子住能把那个住房的钱拿出来交房租不"]},
    ]}, allow_unicode=True), encoding="utf-8")
    return load_corpus(root)


def _hit(doc_id: str, kind: str, score: float) -> Hit:
    return Hit(doc_id=doc_id, kind=kind, title=doc_id, region="测试省", score=score, confident=True)


def test_training_texts_are_each_guides_ways_of_asking(tmp_path):
    corpus = _corpus(tmp_path)
    texts, labels = training_texts(corpus)
    pairs = set(zip(texts, labels))
    assert ("住房公积金提取", "housing-fund-withdrawal") in pairs                       # title
    assert ("取公积金", "housing-fund-withdrawal") in pairs                             # alias
    assert ("单位给存的那笔买房的钱能取出来吗", "housing-fund-withdrawal") in pairs       # phrasing
    assert ("身份证掉了怎么办", "lost-id-card") not in pairs  # an FAQ with no guide of its own teaches nothing
    assert not any(label.startswith("cat-") for label in labels)  # catalogue matters are not guides


def test_the_classifier_prefers_the_guide_asked_for_and_respects_its_margin(tmp_path):
    guides = GuideClassifier(_corpus(tmp_path))
    text = "我妈退休了，每年领钱前都要刷脸核身份吗"  # our own wording: none of the training texts
    scores = guides.scores(text, ["pension-certification", "housing-fund-withdrawal", "no-such-guide"])
    assert set(scores) == {"pension-certification", "housing-fund-withdrawal"}
    assert scores["pension-certification"] > scores["housing-fund-withdrawal"]
    gap = scores["pension-certification"] - scores["housing-fund-withdrawal"]
    assert guides.prefer(text, "housing-fund-withdrawal", ["pension-certification"], 0.0) == "pension-certification"
    assert guides.prefer(text, "housing-fund-withdrawal", ["pension-certification"], gap + 0.01) is None
    assert guides.prefer(text, "pension-certification", ["housing-fund-withdrawal"], 0.0) is None


def test_the_router_lets_the_classifier_choose_only_among_close_confident_guides(tmp_path):
    corpus = _corpus(tmp_path)
    router = Router(corpus, retriever=None, normalizer=Normalizer(), guides=GuideClassifier(corpus))
    msg = router.normalizer.run("租房的话公积金里的钱能拿出来交房租吗")
    top = _hit("pension-certification", "matter", 0.80)
    close = _hit("housing-fund-withdrawal", "matter", 0.70)
    far = _hit("housing-fund-withdrawal", "matter", 0.40)            # beyond the neighbour margin (0.3)
    faq = _hit("lost-id-card", "faq", 0.80)
    assert router.learned_choice(msg, [top, close]).doc_id == "housing-fund-withdrawal"
    assert router.learned_choice(msg, [top, far]).doc_id == "pension-certification"  # retrieval's call stands
    assert router.learned_choice(msg, [faq, close]).doc_id == "lost-id-card"  # an FAQ answers the message itself
    plain = Router(corpus, retriever=None, normalizer=Normalizer())  # no classifier: retrieval's order
    assert plain.learned_choice(msg, [top, close]).doc_id == "pension-certification"


def test_further_down_the_list_a_guide_wins_on_retrieval_and_classifier_together(tmp_path):
    """A guide retrieval is not confident of, or ranks beyond the neighbour margin, is taken when its score plus the
    classifier's decision value beats the top's: the story's context words misled retrieval, the ask did not."""
    corpus = _corpus(tmp_path)
    router = Router(corpus, retriever=None, normalizer=Normalizer(), guides=GuideClassifier(corpus))
    msg = router.normalizer.run("在外地租房子住，想把单位交的公积金拿出来付房租")
    top = _hit("pension-certification", "matter", 0.55)
    unsure = Hit(doc_id="housing-fund-withdrawal", kind="matter", title="住房公积金提取", region="测试省",
                 score=0.30, confident=False)
    assert router.learned_choice(msg, [top], [top, unsure]).doc_id == "housing-fund-withdrawal"
    assert router.learned_choice(msg, [top]).doc_id == "pension-certification"  # no further hits: nothing to weigh
    faint = unsure.model_copy(update={"score": 0.05})                          # below the floor: noise
    assert router.learned_choice(msg, [top], [top, faint]).doc_id == "pension-certification"
    asked = router.normalizer.run("我妈退休了，每年领钱前都要刷脸核身份吗")  # the top is what the classifier reads too
    assert router.learned_choice(asked, [top], [top, unsure]).doc_id == "pension-certification"
    plain = Router(corpus, retriever=None, normalizer=Normalizer())
    assert plain.learned_choice(msg, [top], [top, unsure]).doc_id == "pension-certification"
