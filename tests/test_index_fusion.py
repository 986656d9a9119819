"""The fitted fusion: each list weighted by how sure it is of its first answer, fitted as a softmax over
each question's candidates."""
import numpy as np

from index.calibrate import _mrr, fit_conditional_logit
from index.retriever import FUSION_FEATURES

COL = FUSION_FEATURES.index


def _queries(rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, int]]:
    """Candidate lists where one side is sure and right: with a clear BM25 margin, BM25's first is the answer
    and the dense list is noise; otherwise the dense list's first is the answer and BM25's is noise."""
    groups = []
    for _ in range(n):
        m = 8
        X = np.zeros((m, len(FUSION_FEATURES)))
        pos = int(rng.integers(m))
        sparse_sure = rng.random() < 0.5
        sp = rng.random(m) * 0.6
        de = rng.random(m) * 0.9
        if sparse_sure:
            sp[pos] = 1.0               # a clear first place...
            de[pos] = rng.random() * 0.5  # ...that the dense list ranks low
            margin_sp, margin_de = 0.4 + 0.2 * rng.random(), 0.05 * rng.random()
        else:
            de[pos] = 1.0
            sp[pos] = rng.random() * 0.3
            sp[int(np.argmax(np.where(np.arange(m) == pos, -1, sp)))] = 1.0  # BM25 is sure of nothing
            margin_sp, margin_de = 0.05 * rng.random(), 0.3 + 0.3 * rng.random()
        sp_rank = np.argsort(np.argsort(-sp))
        de_rank = np.argsort(np.argsort(-de))
        X[:, COL("sparse_rel")] = sp / sp.max()
        X[:, COL("dense_rel")] = de / de.max()
        X[:, COL("sparse_rr")] = 1 / (1 + sp_rank)
        X[:, COL("dense_rr")] = 1 / (1 + de_rank)
        X[:, COL("sparse_conf")] = margin_sp * X[:, COL("sparse_rel")]
        X[:, COL("dense_conf")] = margin_de * X[:, COL("dense_rel")]
        groups.append((X, pos))
    return groups


def test_fitted_fusion_follows_the_confident_side_and_beats_both_lists():
    rng = np.random.default_rng(7)
    train, test = _queries(rng, 300), _queries(rng, 300)
    w = fit_conditional_logit(train)
    fused = _mrr(test, lambda X: X @ w)
    sparse = _mrr(test, lambda X: X[:, COL("sparse_rel")])
    dense = _mrr(test, lambda X: X[:, COL("dense_rel")])
    rrf = _mrr(test, lambda X: 1 / (60 + 1 / X[:, COL("sparse_rr")]) + 1 / (60 + 1 / X[:, COL("dense_rr")]))
    # Each single list is right on about half the questions; only a fusion that reads the margins is right on both.
    assert max(sparse, dense, rrf) < 0.8
    assert fused > 0.9
    # The margin-weighted terms carry the decision.
    assert w[COL("sparse_conf")] > 0 and w[COL("dense_conf")] > 0
