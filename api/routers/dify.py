"""Dify's External Knowledge API: a Dify knowledge base backed by daoban's hybrid retriever.

In Dify: 外部知识库 API, endpoint ``https://HOST`` (Dify appends ``/retrieval``), the API key of a daoban key with role
``integration``; 外部知识库 ID: a region's name as in the index (``山东省``) or its corpus folder (``shandong``)."""
from __future__ import annotations

import re
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_runtime, integration_budget, require_bearer, require_database
from api.errors import DEFAULT_MESSAGES, ApiError, register_style
from api.routers.catalog import retriever_or_503
from api.runtime import Runtime
from index.passages import Passage, search_passages

PATH = "/retrieval"
MAX_TOP_K = 50

# Dify's codes: 1001 no Bearer header, 1002 authorization failed (403 both), 2001 no such knowledge base (404).
# Other failures keep their HTTP status, which is what Dify reads, and carry it as their error_code.
_DIFY_CODES = {"bearer_missing": (403, 1001), "unauthorized": (403, 1002), "forbidden": (403, 1002),
               "knowledge_not_found": (404, 2001)}


def dify_error(status: int, code: str, message: str) -> tuple[int, dict]:
    status, number = _DIFY_CODES.get(code, (status, status))
    return status, {"error_code": number, "error_msg": message}


register_style(PATH, dify_error)


class DifyError(BaseModel):
    error_code: int = Field(description="1001 bad Authorization header, 1002 authorization failed, 2001 unknown "
                                        "knowledge_id; otherwise the HTTP status")
    error_msg: str


ERRORS = {status: {"model": DifyError, "description": text}
          for status, (_, text) in DEFAULT_MESSAGES.items() if status not in (401, 405)}
ERRORS[403] = {"model": DifyError, "description": "1001: no `Authorization: Bearer` key; 1002: unknown key or role"}
ERRORS[404] = {"model": DifyError, "description": "2001: no knowledge base of that knowledge_id"}
ERRORS[422] = {"model": DifyError, "description": "malformed body"}


class RetrievalSetting(BaseModel):
    model_config = ConfigDict(extra="ignore")
    top_k: int = Field(ge=1, le=MAX_TOP_K)
    score_threshold: float = Field(ge=0, le=1, description="minimum calibrated score; 0.0 when Dify's threshold is off")


Operator = Literal["contains", "not contains", "start with", "end with", "is", "is not", "in", "not in", "empty",
                   "not empty", "=", "≠", ">", "<", "≥", "≤", "before", "after"]


class Condition(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: list[str] = Field(min_length=1, max_length=10, description="metadata fields; any of them may match")
    comparison_operator: Operator
    value: str | float | list[str] | None = None


class MetadataCondition(BaseModel):
    model_config = ConfigDict(extra="ignore")
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[Condition] = Field(max_length=20)


class RetrievalRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [
        {"knowledge_id": "山东省", "query": "新生儿落户需要什么材料",
         "retrieval_setting": {"top_k": 3, "score_threshold": 0.5}},
        {"knowledge_id": "shandong", "query": "孩子出生了要办什么", "retrieval_setting": {"top_k": 5, "score_threshold": 0},
         "metadata_condition": {"logical_operator": "and",
                                "conditions": [{"name": ["kind"], "comparison_operator": "is", "value": "scenario"}]}}]})
    knowledge_id: str = Field(min_length=1, max_length=64)
    query: str = Field(min_length=1, max_length=2000)
    retrieval_setting: RetrievalSetting
    metadata_condition: MetadataCondition | None = None


class Record(BaseModel):
    content: str
    score: float
    title: str
    metadata: dict[str, str | float] = Field(description="doc_id, title, kind, region, section, score, url")


class RetrievalResponse(BaseModel):
    records: list[Record]


def _number(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _test(op: str, have, want) -> bool:
    """One Dify comparison on one metadata value (missing: None)."""
    text = "" if have is None else str(have)
    if op == "empty":
        return not text
    if op == "not empty":
        return bool(text)
    if op in ("in", "not in"):
        wanted = [str(w) for w in (want if isinstance(want, list) else re.split(r"\s*,\s*", str(want or "")))]
        return (text in wanted) == (op == "in")
    if op in ("=", "≠", ">", "<", "≥", "≤"):
        a, b = _number(have), _number(want)
        if a is None or b is None:
            return op == "≠"
        return {"=": a == b, "≠": a != b, ">": a > b, "<": a < b, "≥": a >= b, "≤": a <= b}[op]
    want = "" if want is None else str(want)
    return {"contains": want in text, "not contains": want not in text, "start with": text.startswith(want),
            "end with": text.endswith(want), "is": text == want, "is not": text != want,
            "before": bool(text) and text < want, "after": bool(text) and text > want}[op]


def matches(meta: dict, condition: MetadataCondition | None) -> bool:
    if condition is None or not condition.conditions:
        return True
    results = [any(_test(c.comparison_operator, meta.get(name), c.value) for name in c.name)
               for c in condition.conditions]
    return all(results) if condition.logical_operator == "and" else any(results)


def knowledge_region(rt: Runtime, retriever, knowledge_id: str) -> str:
    """The region a knowledge_id names: its name as indexed (山东省) or its corpus folder (shandong)."""
    regions = set(retriever.regions)
    if knowledge_id in regions:
        return knowledge_id
    region = rt.corpus().regions.get(knowledge_id)
    if region is not None and region.name in regions:
        return region.name
    raise ApiError(404, "knowledge_not_found", f"知识库不存在：{knowledge_id}（可用：{'、'.join(sorted(regions))}）")


router = APIRouter(tags=["integration"], dependencies=[Depends(require_database)])
KEY = require_bearer("integration")


@router.post(PATH, response_model=RetrievalResponse, responses=ERRORS,
             summary="Dify external knowledge retrieval over daoban's guides",
             description="Dify's External Knowledge API. `knowledge_id`: a region (`山东省` or `shandong`). "
                         "`score` is the retriever's calibrated 0..1 score, so `score_threshold` keeps what is at "
                         "least that likely a real match. `metadata_condition` filters on the records' metadata "
                         "(doc_id, title, kind, region, section, url). Errors: `{error_code, error_msg}`.")
def retrieval(body: RetrievalRequest, request: Request, rt: Runtime = Depends(get_runtime),
              key: str = Depends(integration_budget(KEY))):
    if not body.query.strip():
        raise ApiError(422, "empty_query", "query 不能为空")
    retriever = retriever_or_503(rt)
    region = knowledge_region(rt, retriever, body.knowledge_id.strip())
    setting = body.retrieval_setting
    corpus = rt.corpus()
    base = str(request.base_url).rstrip("/")

    def link_of(hit) -> str:
        return getattr(corpus.get(hit.doc_id), "link", None) or f"{base}/guide/{hit.doc_id}"

    # A metadata filter is applied after the search: fetch more so that top_k can still be filled.
    k = setting.top_k if body.metadata_condition is None else min(MAX_TOP_K, setting.top_k * 4)
    passages: list[Passage] = search_passages(retriever, body.query.strip(), k, region, setting.score_threshold,
                                              link_of)
    kept = [p for p in passages if matches(p.metadata, body.metadata_condition)][:setting.top_k]
    return RetrievalResponse(records=[Record(content=p.content, score=p.score, title=p.title, metadata=p.metadata)
                                      for p in kept])
