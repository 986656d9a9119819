"""Content staff console: questions that need work, coverage, corpus health, and fixing the corpus."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter, defaultdict

import jieba.analyse
from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from api.db import FeedbackRow, ReplyRow, SubmissionRow, TicketRow, as_utc, utcnow
from api.deps import get_runtime, require_database, require_role
from api.errors import ApiError
from api.quality import vocabulary
from api.runtime import Runtime
from api import review
from api.schemas import (CatalogReviewRequest, DocumentRef, EnrichPage, Overview, PhrasingReviewRequest, ReindexResult,
                         ReviewPage, ReviewResult, SampleQuestionRequest, SampleQuestionResult, SubmissionPage)
from api.stores import submission_review
from corpus.editing import add_sample_question as add

router = APIRouter(prefix="/v1/admin", tags=["admin"],
                   dependencies=[Depends(require_role("staff")), Depends(require_database)])
log = logging.getLogger("daoban.api")
REASONS = {"unresolved": "未解决", "thumbs_down": "点踩", "fallback": "未匹配", "low_confidence": "低置信度"}
_jieba_lock = threading.Lock()


def _keyword_topic(question: str) -> str:
    """Questions the assistant could not route are grouped by their main keyword."""
    with _jieba_lock:
        tags = jieba.analyse.extract_tags(question, topK=1)
    return f"关键词：{tags[0]}" if tags else "其他"


@router.get("/overview", response_model=Overview, summary="Problem questions by topic with trends, top questions, coverage, corpus status")
def overview(days: int = Query(14, ge=1, le=90), rt: Runtime = Depends(get_runtime)):
    since = utcnow() - dt.timedelta(days=days)
    day_list = [(utcnow().date() - dt.timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)]
    with rt.db() as s:
        replies = s.scalars(select(ReplyRow).where(ReplyRow.created_at >= since)
                            .order_by(ReplyRow.created_at.desc()).limit(20000)).all()
        feedback = s.scalars(select(FeedbackRow).where(FeedbackRow.created_at >= since)).all()
    fb: dict[str, set] = defaultdict(set)
    for f in feedback:
        if f.resolved is False:
            fb[f.reply_id].add("unresolved")
        if f.thumbs == "down":
            fb[f.reply_id].add("thumbs_down")

    groups: dict[str, dict] = {}
    question_counts: Counter = Counter()
    question_doc: dict[str, str | None] = {}
    doc_hits: Counter = Counter()
    for r in replies:
        q = r.question_masked.strip()
        question_counts[q] += 1
        question_doc.setdefault(q, r.route_title or ("（已反问澄清）" if r.clarify else None))
        hit_ids = set(filter(None, [r.route_id, *r.cited_ids.split()]))
        doc_hits.update(hit_ids)
        reasons = set(fb.get(r.id, ()))
        if r.fallback:
            reasons.add("fallback")
        if r.low_confidence:
            reasons.add("low_confidence")
        if not reasons:
            continue
        topic = r.route_title or _keyword_topic(q)
        g = groups.setdefault(topic, {"topic": topic, "doc_id": r.route_id, "count": 0, "reasons": Counter(),
                                      "trend": Counter(), "questions": {}})
        g["count"] += 1
        g["reasons"].update(reasons)
        g["trend"][r.created_at.date().isoformat()] += 1
        item = g["questions"].setdefault(q, {"question": q, "count": 0, "reasons": set(), "reply_id": r.id,
                                             "last_at": as_utc(r.created_at)})
        item["count"] += 1
        item["reasons"] |= reasons
    _add_tickets(rt, since, groups)
    issue_groups = []
    for g in sorted(groups.values(), key=lambda g: -g["count"]):
        issue_groups.append({
            "topic": g["topic"], "doc_id": g["doc_id"], "count": g["count"],
            "reasons": {REASONS.get(k) or _ticket_reason(k): v for k, v in g["reasons"].items()},
            "trend": [{"day": d, "count": g["trend"].get(d, 0)} for d in day_list],
            "questions": [{**q, "reasons": [REASONS.get(x) or _ticket_reason(x) for x in sorted(q["reasons"])]}
                          for q in sorted(g["questions"].values(), key=lambda q: -q["count"])[:20]],
        })
    corpus = rt.corpus()
    guides = [d for d in corpus.documents() if d.kind != "catalog"]
    catalog_never = sum(1 for d in corpus.catalog.values() if d.id not in doc_hits)
    return {
        "days": day_list,
        "issue_groups": issue_groups,
        "issue_total": sum(g["count"] for g in issue_groups),
        "top_questions": [{"question": q, "count": c, "route_title": question_doc.get(q)}
                          for q, c in question_counts.most_common(10)],
        "doc_hits": [{"doc_id": d, "title": getattr(corpus.get(d), "title", d), "kind": getattr(corpus.get(d), "kind", "?"),
                      "hits": c} for d, c in doc_hits.most_common(30)],
        "never_hit": [{"doc_id": d.id, "title": d.title, "kind": d.kind} for d in guides if d.id not in doc_hits],
        "never_hit_catalog": catalog_never,
        "corpus": {"scenarios": len(corpus.scenarios), "matters": len(corpus.matters), "faqs": len(corpus.faqs),
                   "catalog": len(corpus.catalog)},
        "validation": rt.validation(),
        "index": {"ready": rt.ready, "load_error": rt.load_error},
    }


def _ticket_reason(key: str) -> str:
    """A ticket's kind as a reason of its group: 工单·投诉, 工单·办不成事, 工单·差评整改."""
    return "工单·" + vocabulary().ticket_kinds.get(key.removeprefix("ticket:"), key)


def _add_tickets(rt: Runtime, since: dt.datetime, groups: dict[str, dict]) -> None:
    """Complaints, 办不成事 reports and 差评 join the unresolved questions of their service (else of their main
    keyword), so staff see which guide or process keeps failing."""
    with rt.db() as s:
        tickets = s.scalars(select(TicketRow).where(TicketRow.created_at >= since)
                            .order_by(TicketRow.created_at.desc()).limit(5000)).all()
    for t in tickets:
        topic = t.service_title or _keyword_topic(t.description_masked)
        g = groups.setdefault(topic, {"topic": topic, "doc_id": t.service_id, "count": 0, "reasons": Counter(),
                                      "trend": Counter(), "questions": {}})
        reason = f"ticket:{t.kind}"
        g["count"] += 1
        g["reasons"][reason] += 1
        g["trend"][t.created_at.date().isoformat()] += 1
        text = t.description_masked[:200]
        item = g["questions"].setdefault(text, {"question": text, "count": 0, "reasons": set(), "reply_id": None,
                                                "ticket_no": t.ticket_no, "last_at": as_utc(t.created_at)})
        item["count"] += 1
        item["reasons"].add(reason)


@router.get("/documents", response_model=list[DocumentRef], summary="Guides staff can attach a question to (catalogue matters with ?catalog=true)")
def documents(catalog: bool = False, rt: Runtime = Depends(get_runtime)):
    return [{"doc_id": d.id, "title": d.title, "kind": d.kind, "region": d.region}
            for d in rt.corpus().documents() if catalog or d.kind != "catalog"]


@router.post("/reindex", response_model=ReindexResult, summary="Incremental reindex of the corpus",
             responses={409: {"description": "a reindex is running"}})
def reindex(rt: Runtime = Depends(get_runtime)):
    if not rt.index_lock.acquire(timeout=0.1):
        raise ApiError(409, "reindex_running", "正在重建索引，请稍候")
    rt.index_lock.release()
    return {"ok": True, "stats": rt.reindex()}


@router.post("/sample-questions", response_model=SampleQuestionResult,
             responses={404: {"description": "no such document"}, 422: {"description": "the edited corpus would not validate"}},
             summary="Add a question as a 相似问法 of a document (validated), then reindex")
def add_sample_question(body: SampleQuestionRequest, rt: Runtime = Depends(get_runtime)):
    if rt.corpus().get(body.doc_id) is None:
        raise ApiError(404, "matter_not_found", f"找不到文档 {body.doc_id}")
    problems = add(body.doc_id, body.question, root=rt.corpus_root)
    if problems:
        raise ApiError(422, "edit_rejected", "未写入：修改后的语料未通过校验。" + "；".join(p.message for p in problems[:3]),
                       problems=[str(p) for p in problems])
    log.info("staff added a sample question to %s", body.doc_id)
    if body.reindex:
        stats = rt.reindex()  # rebuilds the assistant on the edited corpus too
    else:
        stats = None
        rt.corpus_changed()
    return {"ok": True, "doc_id": body.doc_id, "question": body.question, "reindex": stats}


# -- words kept for retrieval only (api/review.py): the catalogue's generated words, the guides' phrasings written
# blind; nothing goes live unreviewed by choice --

_REVIEW_ERRORS = {404: {"description": "no such document, or no entry for it in the file"},
                  500: {"description": "the region's words file is broken (file:line in the message)"}}


def _listing(status: str = Query("unreviewed", pattern="^(unreviewed|approved|rejected|all)$"),
             offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=200)) -> tuple[str, int, int]:
    """The review lists' query: which status, which page."""
    return status, offset, limit


def _decided(rt: Runtime, rs: review.ReviewSet, doc_id: str, body: CatalogReviewRequest | PhrasingReviewRequest) -> dict:
    entry = review.review_entry(rt.corpus(), rs, doc_id, body.action, body.model_dump(exclude={"action"}))
    log.info("staff %s the %s of %s", body.action, rs.file, doc_id)
    rt.corpus_changed()  # the guide's words follow at once; the index at the next 重建索引
    return {"ok": True, "doc_id": doc_id, "status": entry.status, "keywords": entry.keywords,
            "questions": entry.questions}


@router.get("/catalog-enrich", response_model=EnrichPage, responses={500: _REVIEW_ERRORS[500]},
            summary="Generated keywords and 相似问法 of catalogue matters, for review")
def catalog_enrich(listing: tuple[str, int, int] = Depends(_listing), rt: Runtime = Depends(get_runtime)):
    page = review.review_page(rt.corpus(), review.CATALOG, *listing)
    return {**page, "catalog": page["documents"]}


@router.post("/catalog-enrich/{doc_id}", response_model=ReviewResult, responses=_REVIEW_ERRORS,
             summary="Approve, reject or edit one matter's generated words")
def review_catalog_enrich(doc_id: str, body: CatalogReviewRequest, rt: Runtime = Depends(get_runtime)):
    return _decided(rt, review.CATALOG, doc_id, body)


@router.get("/phrasings", response_model=ReviewPage, responses={500: _REVIEW_ERRORS[500]},
            summary="Blind-written 相似问法 of scenarios and matters (phrasings.yaml), for review")
def phrasings(listing: tuple[str, int, int] = Depends(_listing), rt: Runtime = Depends(get_runtime)):
    return review.review_page(rt.corpus(), review.GUIDES, *listing)


@router.post("/phrasings/{doc_id}", response_model=ReviewResult, responses=_REVIEW_ERRORS,
             summary="Approve, reject or edit one guide's blind-written 相似问法 (editing approves them)")
def review_phrasings(doc_id: str, body: PhrasingReviewRequest, rt: Runtime = Depends(get_runtime)):
    return _decided(rt, review.GUIDES, doc_id, body)


@router.get("/submissions", response_model=SubmissionPage,
            summary="Submissions newest first with their pre-review (通过 / 需补正 and each 补正 item), filtered by "
                    "review status; never the application's values")
def submissions(review_status: str = Query("all", pattern="^(all|pass|needs_correction|none)$"),
                limit: int = Query(30, ge=1, le=100), offset: int = Query(0, ge=0, le=10_000),
                rt: Runtime = Depends(get_runtime)):
    query = select(SubmissionRow).order_by(SubmissionRow.submitted_at.desc(), SubmissionRow.receipt_no.desc())
    if review_status == "none":
        query = query.where(SubmissionRow.review_status.is_(None))
    elif review_status != "all":
        query = query.where(SubmissionRow.review_status == review_status)
    with rt.db() as s:
        rows = s.scalars(query.offset(offset).limit(limit + 1)).all()
        counts = dict(s.execute(select(SubmissionRow.review_status, func.count())
                                .group_by(SubmissionRow.review_status)).all())
    return SubmissionPage(items=[submission_review(r) for r in rows[:limit]],
                          counts={"pass": counts.get("pass", 0), "needs_correction": counts.get("needs_correction", 0),
                                  "none": counts.get(None, 0)},
                          next_offset=offset + limit if len(rows) > limit else None)
