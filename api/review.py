"""Staff review of the words kept beside the corpus for retrieval only.

Two files share one shape (``corpus.enrich.EnrichCache``) and one policy: the catalogue's generated keywords and
相似问法 (``<region>/catalog_enrich.yaml``, corpus/enrich.py) and the guides' blind-written phrasings
(``<region>/phrasings.yaml``, corpus/phrasings.py). A ``ReviewSet`` says which documents, which file and which
parts; the list and the decisions are written once for both."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Union

from api.errors import ApiError
from corpus.datafile import DataFileError
from corpus.enrich import CACHE, EnrichCache, EnrichEntry, Part, cache_lock, load_cache, save_cache
from corpus.phrasings import PHRASINGS

if TYPE_CHECKING:
    from corpus.loader import Corpus
    from corpus.schema import CatalogMatter, MatterGuide, Scenario

    Doc = Union[CatalogMatter, MatterGuide, Scenario]

Status = Literal["unreviewed", "approved", "rejected", "all"]
Action = Literal["approve", "reject", "edit"]
PART_LABELS: dict[str, str] = {"keywords": "关键词", "questions": "相似问法"}


@dataclass(frozen=True)
class ReviewSet:
    noun: str                   # what staff call the documents, in messages: 目录事项, 办事指南
    held: str                   # what the file holds for a document, in messages
    file: str                   # the words file in each region folder
    file_label: str             # the file as staff know it, in messages
    parts: tuple[Part, ...]     # the parts of an entry that are used, so reviewed
    not_found: str              # error code of an unknown document
    broken: str                 # error code of a broken file
    documents: Callable[["Corpus"], dict[str, "Doc"]]
    retrieval_questions: Callable[["Doc"], list[str]]  # what the loaded corpus uses now


CATALOG = ReviewSet(
    noun="目录事项", held="生成的相似问法", file=CACHE, file_label="生成词表文件", parts=("keywords", "questions"),
    not_found="matter_not_found", broken="enrich_file_broken", documents=lambda c: c.catalog,
    retrieval_questions=lambda d: list(d.plain.questions) if d.plain else [])
GUIDES = ReviewSet(
    noun="办事指南", held="相似问法", file=PHRASINGS, file_label="相似问法文件", parts=("questions",),
    not_found="guide_not_found", broken="phrasings_file_broken", documents=lambda c: {**c.scenarios, **c.matters},
    retrieval_questions=lambda d: list(d.phrasings))


def _region_dir(corpus: "Corpus", doc_id: str) -> Path | None:
    """The region folder a document's file sits in (``<region>/<kind folder>/<id>.yaml``)."""
    info = corpus.sources.get(doc_id)
    return Path(info.file).parent.parent if info is not None else None


def _by_region(corpus: "Corpus", docs: dict[str, "Doc"]) -> dict[Path, dict[str, "Doc"]]:
    """Documents by region folder: a region's file speaks only of its own documents, as the loader reads it."""
    out: dict[Path, dict[str, "Doc"]] = {}
    for doc_id, doc in docs.items():
        folder = _region_dir(corpus, doc_id)
        if folder is not None:
            out.setdefault(folder, {})[doc_id] = doc
    return dict(sorted(out.items()))


def _load(rs: ReviewSet, path: Path) -> EnrichCache:
    try:
        return load_cache(path)
    except DataFileError as exc:
        raise ApiError(500, rs.broken, f"{rs.file_label}有误：" + exc.problems[0]) from exc


def _department(doc: "Doc") -> str | None:
    return doc.lead_department if doc.kind == "scenario" else doc.department


def _link(doc: "Doc") -> str | None:
    """The official page of a catalogue matter; the guide page of a scenario or matter."""
    return doc.link if doc.kind == "catalog" else f"/guide/{doc.id}"


def _row(rs: ReviewSet, doc: "Doc", entry: EnrichEntry, cache: EnrichCache) -> dict:
    return {"doc_id": entry.id, "title": doc.title, "kind": doc.kind, "department": _department(doc),
            "link": _link(doc), "region": doc.region, "status": entry.status, "stale": entry.title != doc.title,
            "keywords": entry.keywords if "keywords" in rs.parts else [],
            "questions": entry.questions if "questions" in rs.parts else [],
            "indexed_unreviewed": [p for p in cache.index_unreviewed if p in rs.parts],
            "retrieval_questions": rs.retrieval_questions(doc)}


def review_page(corpus: "Corpus", rs: ReviewSet, status: Status, offset: int, limit: int) -> dict:
    """Entries of the set's files with the given status, file by file in entry order, and counts by status."""
    docs = rs.documents(corpus)
    rows, counts = [], Counter()
    for folder, own in _by_region(corpus, docs).items():
        cache = _load(rs, folder / rs.file)
        for entry in cache.entries:
            doc = own.get(entry.id)
            if doc is None:
                continue  # the corpus check warns of it with its line
            counts[entry.status] += 1
            if status in ("all", entry.status):
                rows.append(_row(rs, doc, entry, cache))
    return {"total": len(rows), "counts": dict(counts), "documents": len(docs), "parts": list(rs.parts),
            "entries": rows[offset:offset + limit]}


def _clean(words: list[str]) -> list[str]:
    return list(dict.fromkeys(w.strip() for w in words if w.strip()))


def review_entry(corpus: "Corpus", rs: ReviewSet, doc_id: str, action: Action,
                 edits: dict[Part, list[str] | None]) -> EnrichEntry:
    """Apply one staff decision to a document's entry and write the file. Approving or editing reviews the entry
    against the document's current title, so a stale entry is used again."""
    doc = rs.documents(corpus).get(doc_id)
    folder = _region_dir(corpus, doc_id)
    if doc is None or folder is None:
        raise ApiError(404, rs.not_found, f"找不到{rs.noun} {doc_id}")
    path = folder / rs.file
    with cache_lock(path):
        cache = _load(rs, path)
        entry = cache.by_id().get(doc_id)
        if entry is None:
            raise ApiError(404, "entry_not_found", f"{rs.noun} {doc_id} 还没有{rs.held}")
        if action == "reject":
            entry.status = "rejected"
        else:
            if action == "edit":
                given = {part: words for part, words in edits.items() if part in rs.parts and words is not None}
                if not given:
                    labels = "或".join(PART_LABELS[p] for p in rs.parts)
                    raise ApiError(422, "nothing_to_edit", f"请提供修改后的{labels}")
                for part, words in given.items():
                    setattr(entry, part, _clean(words))
            entry.status = "approved"
            entry.title = doc.title
        save_cache(path, cache)
    return entry
