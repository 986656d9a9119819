"""Search results as passages for other platforms' retrieval protocols (Dify's external knowledge API, LangChain):
one per document, its matched text, the calibrated score and metadata that names where it came from."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from index.types import Hit, SearchFilters

if TYPE_CHECKING:
    from index.retriever import HybridRetriever

LinkOf = Callable[[Hit], str | None]  # a document's link (official page or the guide page), when there is one


@dataclass
class Passage:
    content: str
    score: float
    title: str
    metadata: dict = field(default_factory=dict)


def passage(hit: Hit, link_of: LinkOf | None = None) -> Passage:
    """The hit's matched sections (best first) as its content; metadata never null, values plain."""
    sections = hit.sections or []
    content = "\n".join(dict.fromkeys(s.text for s in sections)) or hit.title
    meta = {"doc_id": hit.doc_id, "title": hit.title, "kind": hit.kind, "region": hit.region,
            "section": sections[0].section if sections else "title", "score": hit.score}
    url = link_of(hit) if link_of else None
    if url:
        meta["url"] = url
    return Passage(content=content, score=hit.score, title=hit.title, metadata=meta)


def search_passages(retriever: "HybridRetriever", query: str, k: int, region: str | None = None,
                    score_threshold: float = 0.0, link_of: LinkOf | None = None) -> list[Passage]:
    """Top ``k`` passages for ``query`` in ``region`` whose calibrated score is at least ``score_threshold``."""
    hits = retriever.search(query, k, SearchFilters(region=region))
    return [passage(h, link_of) for h in hits if h.score >= score_threshold]
