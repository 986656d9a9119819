"""Retrieval quality: recall@1, recall@5 and MRR of the target document for BM25 only, dense only,
hybrid, and hybrid + reranker, in one table.

    .venv/bin/python benchmarks/retrieval_eval.py [--cases eval/datasets/dev.jsonl] [--reranker embedding]

Cases: the eval JSONL (``query`` or ``turns``; ``expect.target`` is a document title). Without it, each
document's sample questions are searched with their own unit excluded (held-out paraphrases). Out-of-scope
cases (expect.kind out_of_scope/chitchat) report how often the top score stays below the no-match threshold.
Uses the index built by ``daoban index build`` under the configured data dir."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NO_MATCH_KINDS = {"out_of_scope", "chitchat"}


def load_cases(path: Path, corpus) -> tuple[list[dict], list[dict]]:
    """(target cases with doc ids, no-match cases) from the eval JSONL."""
    by_title: dict[str, set[str]] = {}
    for doc in corpus.documents():
        names = [doc.title] + list(getattr(doc, "aliases", []) or [])
        for n in names:
            by_title.setdefault(n, set()).add(doc.id)
    from eval.cases import load_cases as read_cases  # a file or a folder of JSONL cases

    targets, negatives, unknown = [], [], []
    for c in read_cases(path):
        if c.turns:  # a follow-up alone, or turns glued across a topic switch, is no fair retrieval query
            continue
        case = {"id": c.id, "region": c.region}
        query = c.query
        expect = c.expect.model_dump()
        if expect.get("kind") in NO_MATCH_KINDS:
            negatives.append({"id": case["id"], "query": query, "region": case.get("region")})
            continue
        target = expect.get("target")
        if not target:
            continue
        ids = set()
        for alt in target.split("|"):
            ids |= by_title.get(alt.strip(), set())
        if not ids:  # a title written slightly differently: fall back to containment
            ids = {d.id for d in corpus.documents() if target in d.title or d.title in target}
        if not ids:
            unknown.append(target)
            continue
        targets.append({"id": case["id"], "query": query, "targets": ids, "region": case.get("region"),
                        "exclude": set()})
    if unknown:
        print(f"note: {len(unknown)} case target(s) not found in the corpus, skipped: {sorted(set(unknown))[:5]}")
    return targets, negatives


def held_out_cases(corpus) -> list[dict]:
    cases = []
    for doc in corpus.documents():
        for i, q in enumerate(doc.sample_questions or []):
            cases.append({"id": f"{doc.id}#{i}", "query": q, "targets": {doc.id}, "region": None,
                          "exclude": {f"{doc.id}#sample_question:{i}"}})
    return cases


def evaluate(retriever, cases: list[dict], negatives: list[dict], mode: str, rerank: bool, thr: float) -> dict:
    from index.types import SearchFilters

    r1 = r5 = mrr = 0.0
    times = []
    ranked: dict[str, int | None] = {}
    above = 0
    for c in cases:
        f = SearchFilters(region=c["region"]) if c["region"] else None
        t = time.perf_counter()
        hits = retriever.search_with(c["query"], k=10, filters=f, mode=mode, rerank=rerank, exclude=c["exclude"])
        times.append((time.perf_counter() - t) * 1000)
        ranks = [i for i, h in enumerate(hits) if h.doc_id in c["targets"]]
        ranked[c["id"]] = ranks[0] + 1 if ranks else None
        if ranks:
            r1 += ranks[0] == 0
            r5 += ranks[0] < 5
            mrr += 1.0 / (ranks[0] + 1)
        if hits and hits[0].doc_id in c["targets"] and hits[0].score >= thr:
            above += 1
    below = 0
    for c in negatives:
        hits = retriever.search_with(c["query"], k=1, mode=mode, rerank=False)
        below += (not hits) or hits[0].score < thr
    n = max(len(cases), 1)
    return {"recall@1": r1 / n, "recall@5": r5 / n, "MRR": mrr / n,
            "correct top-1 above threshold": above / n,
            "no-match below threshold": (below / len(negatives)) if negatives else None,
            "p50 ms": statistics.median(times) if times else 0.0, "ranks": ranked}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=str(ROOT / "eval" / "datasets" / "dev.jsonl"))
    ap.add_argument("--reranker", default="embedding", choices=["embedding", "llm", "none"],
                    help="none: only the three first-stage modes")
    ap.add_argument("--json", help="write each case's rank per mode here (1-based, null when not in the top 10)")
    ap.add_argument("--limit", type=int, default=0, help="evaluate N cases spread evenly over the set")
    args = ap.parse_args()

    from corpus.loader import load_corpus
    from daoban.settings import get_settings
    from index.retriever import HybridRetriever

    settings = get_settings()
    corpus = load_corpus(settings.corpus_dir)
    path = Path(args.cases)
    if path.exists():
        cases, negatives = load_cases(path, corpus)
        source = f"{path} ({len(cases)} target cases, {len(negatives)} out-of-scope cases)"
    else:
        cases = held_out_cases(corpus)
        negatives = []
        source = f"held-out sample questions of the corpus ({len(cases)}; {path} not found)"
    if args.limit and len(cases) > args.limit:  # an even spread over the corpus, not its first documents
        step = len(cases) / args.limit
        cases = [cases[int(i * step)] for i in range(args.limit)]
    retriever = HybridRetriever(settings)
    thr = settings.index.no_match_threshold
    rows = [("BM25 only", evaluate(retriever, cases, negatives, "sparse", False, thr)),
            ("dense only", evaluate(retriever, cases, negatives, "dense", False, thr)),
            (f"hybrid ({settings.index.fusion})", evaluate(retriever, cases, negatives, "hybrid", False, thr))]
    if args.reranker != "none":
        rr_settings = settings.model_copy(update={"index": settings.index.model_copy(update={"reranker": args.reranker})})
        llm_judge = None
        if args.reranker == "llm":
            from index.rerank import llm_judge_from_settings
            llm_judge = llm_judge_from_settings(settings)
        reranking = HybridRetriever(rr_settings, embeddings=retriever.embeddings, client=retriever.client,
                                    llm_judge=llm_judge)
        rows.append((f"hybrid + {args.reranker} reranker", evaluate(reranking, cases, negatives, "hybrid", True, thr)))
    if args.json:
        Path(args.json).write_text(json.dumps({name: m.pop("ranks") for name, m in rows}, ensure_ascii=False, indent=0),
                                   encoding="utf-8")
    for _, m in rows:
        m.pop("ranks", None)
    print(f"cases: {source}; index: {settings.index_dir}")
    cols = list(rows[0][1])
    print("| method | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, m in rows:
        cells = ["-" if m[c] is None else (f"{m[c]:.1f}" if c == "p50 ms" else f"{m[c]:.3f}") for c in cols]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
