"""Types shared by the retriever and its users (agent, API, eval)."""
from __future__ import annotations

from pydantic import BaseModel, Field

from corpus.schema import Audience, DocKind


class SearchFilters(BaseModel):
    region: str | None = None          # e.g. 山东省; None searches every region
    audience: Audience | None = None   # 个人 | 法人
    kinds: list[DocKind] | None = None  # scenario | matter | faq | catalog


class SectionHit(BaseModel):
    """One retrieval unit that matched: title card, a 情形's materials, steps, an FAQ, a sample question…"""

    section: str   # e.g. "title", "situation:born-in-hospital:materials", "steps", "time_fee", "faq:0", "sample_question"
    text: str
    score: float


class Hit(BaseModel):
    """One document, aggregated from its matching units."""

    doc_id: str
    kind: DocKind
    title: str
    region: str
    score: float = Field(description="calibrated 0..1; compare with the no-match threshold")
    sparse_score: float | None = None
    dense_score: float | None = None
    confident: bool = Field(description="score is at or above the configured no-match threshold")
    sections: list[SectionHit] = Field(default_factory=list)
