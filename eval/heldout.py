"""A QA table from the corpus itself, measured on wording that is not indexed.

Every document's ``sample_questions`` and the questions of its ``faqs`` are paired with the document's id.
The pairs are split into ``folds`` by a hash of their unit id (stable across runs and machines); for each fold
an index is built from a copy of the corpus *without* that fold's texts (sample questions dropped, FAQ
questions blanked so only their answers stay indexed) and the fold's questions are searched against it. The
other folds stay indexed, as they would in service, so the score calibration still has held-out sample
questions to fit on.

    daoban eval retrieval --heldout [--folds 2] [--mode all] [--table qa.csv]
"""
from __future__ import annotations

import copy
import csv
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from eval.metrics import rank_metrics

if TYPE_CHECKING:
    from corpus.loader import Corpus
    from daoban.settings import Settings

MODES = ("hybrid", "dense", "sparse")


@dataclass(frozen=True)
class QAPair:
    uid: str        # the unit the question would be indexed as: "<doc id>#sample_question:<i>" or "#faq:<i>"
    question: str
    doc_id: str
    source: str     # sample_question | faq

    def fold(self, folds: int) -> int:
        return int(hashlib.sha1(self.uid.encode("utf-8")).hexdigest()[:8], 16) % folds


def qa_table(corpus: "Corpus") -> list[QAPair]:
    """Every sample question and FAQ question of the corpus, mapped to its document (duplicates kept once)."""
    out: list[QAPair] = []
    seen: set[tuple[str, str]] = set()
    for doc in corpus.documents():
        items = [(f"sample_question:{i}", q, "sample_question") for i, q in enumerate(doc.sample_questions or [])]
        items += [(f"faq:{i}", qa.q, "faq") for i, qa in enumerate(getattr(doc, "faqs", []) or [])]
        for section, q, source in items:
            q = q.strip()
            if len(q) < 2 or (doc.id, q) in seen:
                continue
            seen.add((doc.id, q))
            out.append(QAPair(f"{doc.id}#{section}", q, doc.id, source))
    return out


def held_out_corpus(corpus: "Corpus", held: Iterable[QAPair]) -> "Corpus":
    """A copy of ``corpus`` whose documents no longer hold the questions of ``held`` (answers of FAQs stay)."""
    drop: dict[str, set[str]] = {}
    for p in held:
        drop.setdefault(p.doc_id, set()).add(p.uid.split("#", 1)[1])
    out = copy.copy(corpus)
    for table in ("scenarios", "matters", "faqs", "catalog"):
        docs = dict(getattr(corpus, table))
        for doc_id, doc in docs.items():
            gone = drop.get(doc_id)
            if not gone:
                continue
            update = {"sample_questions": [q for i, q in enumerate(doc.sample_questions or [])
                                           if f"sample_question:{i}" not in gone]}
            faqs = getattr(doc, "faqs", None)
            if faqs:
                # Keep the unit (and its index i), blank the question: the answer is what a guide would hold.
                update["faqs"] = [qa.model_copy(update={"q": ""}) if f"faq:{i}" in gone else qa
                                  for i, qa in enumerate(faqs)]
            docs[doc_id] = doc.model_copy(update=update)
        setattr(out, table, docs)
    return out


def write_table(pairs: list[QAPair], path: Path, folds: int) -> None:
    """The table as CSV (question, doc_id, source, unit, fold), for reading or for another tool."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "doc_id", "source", "unit", "fold"])
        for p in pairs:
            w.writerow([p.question, p.doc_id, p.source, p.uid, p.fold(folds)])


def evaluate_heldout(settings: "Settings", work_dir: Path, folds: int = 2, modes: Iterable[str] = MODES,
                     k: int = 10, limit: int = 0, only_fold: int | None = None,
                     progress: Callable[[str], None] | None = None) -> dict:
    """Per mode: recall@1/@5/@k and MRR of the held-out questions, plus build seconds and query p50 ms.

    ``work_dir`` holds one scratch data dir per fold; a new fold's dir starts as a copy of a built one, so its
    build embeds only the units that differ, and a rerun over an unchanged corpus only searches."""
    from corpus.loader import load_corpus
    from index.build import build_index
    from index.retriever import HybridRetriever

    say = progress or (lambda _msg: None)
    corpus = load_corpus(settings.corpus_dir)
    pairs = qa_table(corpus)
    modes = list(modes)
    ranks: dict[str, list[int | None]] = {m: [] for m in modes}
    times: dict[str, list[float]] = {m: [] for m in modes}
    per_query: list[dict] = []
    build_seconds = 0.0
    for fold in range(folds):
        if only_fold is not None and fold != only_fold - 1:
            continue
        held = [p for p in pairs if p.fold(folds) == fold]
        # One data dir per fold: a later run with the same corpus finds its index built and only searches.
        fold_dir = Path(work_dir) / f"fold-{fold + 1}-of-{folds}"
        if not fold_dir.exists():
            _seed(fold_dir, [Path(work_dir) / f"fold-{i + 1}-of-{folds}" for i in range(folds)])
        scratch = settings.model_copy(update={"data_dir": fold_dir})
        t = time.perf_counter()
        build_index(scratch, corpus=held_out_corpus(corpus, held))
        build_seconds += time.perf_counter() - t
        if limit:
            held = held[:max(1, limit // folds)]
        retriever = HybridRetriever(scratch)
        retriever._embeddings = _QueryCache(retriever.embeddings)  # hybrid and dense embed the same question
        say(f"fold {fold + 1}/{folds}: {len(held)} questions, built in {time.perf_counter() - t:.0f} s")
        for p in held:
            row = {"uid": p.uid, "doc_id": p.doc_id, "source": p.source}
            for m in modes:
                t = time.perf_counter()
                hits = retriever.search_with(p.question, k=k, mode=m)
                times[m].append((time.perf_counter() - t) * 1000)
                ids = [h.doc_id for h in hits]
                r = ids.index(p.doc_id) + 1 if p.doc_id in ids else None
                ranks[m].append(r)
                row[m] = r
            per_query.append(row)
    out = {"pairs": len(pairs), "queries": len(per_query), "folds": folds,
           "documents": len({p.doc_id for p in pairs}), "build_seconds": round(build_seconds, 1), "modes": {}}
    for m in modes:
        ms = sorted(times[m])
        out["modes"][m] = {**rank_metrics(ranks[m], k), "p50_ms": round(ms[len(ms) // 2], 1) if ms else 0.0}
    out["by_source"] = by_source(per_query, modes, k)
    out["per_query"] = per_query
    return out


def by_source(per_query: list[dict], modes: Iterable[str], k: int) -> dict[str, dict[str, dict]]:
    """Per source (sample_question, faq) and mode, the same figures: a fusion fitted on sample questions alone
    can lead overall and still trail a single list on FAQ questions, which the totals hide."""
    out: dict[str, dict[str, dict]] = {}
    for source in sorted({row["source"] for row in per_query}):
        rows = [row for row in per_query if row["source"] == source]
        out[source] = {m: rank_metrics([row[m] for row in rows], k) for m in modes}
    return out


class _QueryCache:
    """Embeds each question once for all modes (its time is counted in the first mode that asks)."""

    def __init__(self, inner):
        self.inner, self._cache = inner, {}

    def embed_query(self, text: str) -> list[float]:
        if text not in self._cache:
            self._cache[text] = self.inner.embed_query(text)
        return self._cache[text]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)


def _seed(fold_dir: Path, siblings: list[Path]) -> None:
    """Start a fold's index as a copy of a built sibling: the build then embeds only the units that differ."""
    import shutil

    for sib in siblings:
        if (sib / "index" / "current.json").exists():
            shutil.copytree(sib, fold_dir)
            return
