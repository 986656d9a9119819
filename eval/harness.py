"""Wiring for eval runs: the same assistant and retriever the API uses, built from settings."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Callable

import yaml

from agent.evidence import warm_sentence_vectors
from agent.pipeline import Assistant
from corpus.importers import ImportFailed, _read_rows, _resolve_columns
from daoban.settings import Settings, get_settings
from eval.metrics import rank_metrics
from index.build import build_index
from index.retriever import HybridRetriever
from index.types import SearchFilters


class QADatasetError(ValueError):
    pass


def ensure_index(settings: Settings) -> None:
    """Incremental build before a run (seconds when nothing changed), so a fresh checkout can run the
    eval straight away and a run never scores a stale index; the evidence finder's sentence vectors too, so that no
    turn's latency pays for embedding a guide it meets first."""
    warm_sentence_vectors(settings, build_index(settings))


def build_assistant(llm: str | None, settings: Settings | None = None):
    """(assistant, search, backend name) for ``eval.runner.run_cases``."""
    settings = settings or get_settings()
    if llm:
        settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"backend": llm})})
    ensure_index(settings)
    retriever = HybridRetriever.from_settings(settings)
    assistant = Assistant.from_settings(settings, retriever=retriever)
    assistant.llm_warm.wait(timeout=900)  # start-up prompt warming holds the LLM; score turns after it

    def search(query: str, region: str | None) -> list[str]:
        filters = SearchFilters(region=region or settings.default_region)
        return [h.title for h in retriever.search(query, k=10, filters=filters)]

    return assistant, search, settings.llm.backend


def evaluate_qa_retrieval(path: Path, mapping: dict[str, str], k: int = 10, mode: str = "hybrid",
                          settings: Settings | None = None, progress: Callable | None = None) -> dict:
    """Index the answers of a QA dataset as documents in a scratch region and query with the questions."""
    try:
        columns, rows = _read_rows(Path(path))
        cols = _resolve_columns(columns, mapping)
    except ImportFailed as exc:
        raise QADatasetError(str(exc)) from exc
    pairs = [(str(r.get(cols["question"]) or "").strip(), str(r.get(cols["answer"]) or "").strip()) for _, r in rows]
    pairs = [(q, a) for q, a in pairs if q and a]
    if len(pairs) < 2:
        raise QADatasetError(f"{path}: fewer than two question–answer pairs")
    settings = settings or get_settings()
    region = "评测问答集"
    with tempfile.TemporaryDirectory(prefix="daoban-qa-") as tmp:
        root = Path(tmp) / "corpus"
        folder = root / "qa" / "faqs"
        folder.mkdir(parents=True)
        (root / "qa" / "region.yaml").write_text(yaml.safe_dump({"name": region}, allow_unicode=True), encoding="utf-8")
        answer_ids: dict[str, str] = {}
        for i, (_, answer) in enumerate(pairs):
            if answer in answer_ids:
                continue
            doc_id = f"qa-{len(answer_ids):05d}"
            answer_ids[answer] = doc_id
            # The answer alone is the document: its first sentence stands as the title, the
            # dataset's question is never indexed.
            head = answer.split("。")[0][:60] or answer[:60]
            doc = {"id": doc_id, "question": head, "answer": answer, "region": region,
                   "updated": dt.date.today().isoformat()}
            (folder / f"{doc_id}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        scratch = settings.model_copy(update={"corpus_dir": root, "data_dir": Path(tmp) / "var"})
        build_index(scratch)
        retriever = HybridRetriever.from_settings(scratch)
        ranks = []
        for question, answer in pairs:
            hits = retriever.search_with(question, k=k, filters=SearchFilters(region=region), mode=mode)
            ids = [h.doc_id for h in hits]
            target = answer_ids[answer]
            ranks.append(ids.index(target) + 1 if target in ids else None)
            if progress:
                progress(len(ranks), len(pairs))
    return {**rank_metrics(ranks, k), "documents": len(answer_ids), "mode": mode}
