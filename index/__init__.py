"""Hybrid Chinese retrieval: jieba BM25 + dense vectors in Chroma, aggregated to documents.

    from index import search
    hits = search("孩子出生了要办哪些证", k=5)

Build first with ``daoban index build``."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.retriever import HybridRetriever
    from index.types import Hit, SearchFilters

_RETRIEVER: "HybridRetriever | None" = None
_LOCK = threading.Lock()


def get_retriever() -> "HybridRetriever":
    """The process-wide retriever for ``get_settings()``, loaded once."""
    global _RETRIEVER
    with _LOCK:
        if _RETRIEVER is None:
            from daoban.settings import get_settings
            from index.retriever import HybridRetriever
            _RETRIEVER = HybridRetriever.from_settings(get_settings())
        return _RETRIEVER


def search(query: str, k: int = 5, filters: "SearchFilters | None" = None) -> "list[Hit]":
    return get_retriever().search(query, k=k, filters=filters)


def reset() -> None:
    """Forget the cached retriever (after settings change or in tests)."""
    global _RETRIEVER
    with _LOCK:
        _RETRIEVER = None
