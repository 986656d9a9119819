"""daoban's hybrid retriever as a LangChain ``BaseRetriever`` (``pip install 'daoban[langchain]'``).

    from daoban.integrations.langchain import DaobanRetriever
    docs = DaobanRetriever.from_settings(k=4, region="山东省").invoke("公积金怎么提取")
"""
from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, model_validator

from index.passages import search_passages


class DaobanRetriever(BaseRetriever):
    """Documents for a query: ``page_content`` is the matched text, ``metadata`` doc_id, title, section, score,
    kind, region and url (a catalogue matter's official page) when there is one. ``score`` is the retriever's
    calibrated 0..1 score: ``score_threshold`` drops weaker matches."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any = Field(description="an index.retriever.HybridRetriever")
    k: int = Field(default=4, ge=1, le=50)
    region: str | None = None
    score_threshold: float = Field(default=0.0, ge=0, le=1)
    corpus: Any = Field(default=None, description="corpus.loader.Corpus, for catalogue matters' official links")

    @model_validator(mode="before")
    @classmethod
    def _from_settings(cls, data: Any) -> Any:
        """``DaobanRetriever(settings=...)`` loads the built index those settings name."""
        if isinstance(data, dict) and "settings" in data:
            from index.retriever import HybridRetriever

            data = dict(data)
            settings = data.pop("settings")
            if data.get("retriever") is None:
                data["retriever"] = HybridRetriever.from_settings(settings)
        return data

    @classmethod
    def from_settings(cls, settings=None, **kwargs) -> "DaobanRetriever":
        """Load the built index named by ``settings`` (default: DAOBAN_* environment / daoban.toml)."""
        from daoban.settings import load_settings

        return cls(settings=settings or load_settings(), **kwargs)

    def _link(self, hit) -> str | None:
        doc = self.corpus.get(hit.doc_id) if self.corpus is not None else None
        return getattr(doc, "link", None)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        passages = search_passages(self.retriever, query, self.k, self.region, self.score_threshold, self._link)
        return [Document(page_content=p.content, metadata=p.metadata) for p in passages]
