"""Read-only corpus: search, scenarios, one document as JSON, and the guide page citations open."""
from __future__ import annotations

from html import escape
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from api.deps import get_runtime, rate_limited
from api.errors import ApiError
from api.runtime import Runtime
from api.schemas import CorpusDocument, ScenarioSummary, SearchResult
from index.types import SearchFilters

router = APIRouter(tags=["corpus"])
v1 = APIRouter(prefix="/v1", dependencies=[Depends(rate_limited)], tags=["corpus"])


def retriever_or_503(rt: Runtime):
    rt.wait_loaded(120)
    if rt.retriever is None:
        raise ApiError(503, "not_ready", "检索索引尚未就绪，请稍后再试")
    return rt.retriever


@v1.get("/search", response_model=SearchResult, summary="Hybrid search over the corpus")
def search(q: str = Query(min_length=1, max_length=200, description="what the user asked"),
           k: int = Query(5, ge=1, le=20),
           region: str | None = Query(None, max_length=64),
           audience: Literal["个人", "法人"] | None = None,
           kind: list[Literal["scenario", "matter", "faq", "catalog"]] | None = Query(None),
           rt: Runtime = Depends(get_runtime)):
    q = q.strip()
    if not q:
        raise ApiError(422, "empty_query", "请输入要查询的内容")
    hits = retriever_or_503(rt).search(q, k, SearchFilters(region=region, audience=audience, kinds=kind))
    return SearchResult(query=q, hits=hits)


@v1.get("/scenarios", response_model=list[ScenarioSummary], summary="The 一件事 scenarios")
def scenarios(region: str | None = Query(None, max_length=64), rt: Runtime = Depends(get_runtime)):
    out = []
    for s in rt.corpus().scenarios.values():
        if region and s.region != region:
            continue
        out.append(ScenarioSummary(id=s.id, title=s.title, region=s.region, stage=s.stage, summary=s.summary,
                                   lead_department=s.lead_department, departments=s.departments,
                                   promised_days=s.time_limit.promised_days, fee=s.fee, form_id=s.form.id,
                                   member_count=len(s.members)))
    return out


@v1.get("/matters/{doc_id}", response_model=CorpusDocument, summary="One document (matter guide, scenario, FAQ or catalogue matter) as JSON")
def matter(doc_id: str, rt: Runtime = Depends(get_runtime)):
    doc = rt.corpus().get(doc_id)
    if doc is None:
        raise ApiError(404, "matter_not_found", f"找不到事项 {doc_id}")
    out = doc.model_dump(mode="json")
    if doc.kind == "matter":  # its own form, else the generic one derived at load: what 我要办 opens
        out["form"] = doc.application_form.model_dump(mode="json")
    return out


# -- the guide page --------------------------------------------------------------

def _li(items) -> str:
    return "".join(f"<li>{escape(str(i))}</li>" for i in items)


def _materials(materials) -> str:
    rows = []
    for m in materials:
        badge = (f'<span class="badge ok">免提交·{escape(m.exempt_reason or "")}</span>' if m.exempt else "")
        count = "仅查验" if m.count == 0 else f"{m.count}份"
        notes = f'<div class="muted">{escape(m.notes)}</div>' if m.notes else ""
        rows.append(f"<li><b>{escape(m.name)}</b> <span class='muted'>{escape(m.form)} · {count}</span> {badge}{notes}</li>")
    return f"<ul class='materials'>{''.join(rows)}</ul>"


def _section(sid: str, title: str, body: str, aliases: tuple[str, ...] = ()) -> str:
    """One guide section; ``aliases`` are the other names retrieval and answers cite it by."""
    anchors = "".join(f'<span class="anchor" id="{escape(a)}"></span>' for a in aliases)
    return f'<section id="{escape(sid)}">{anchors}<h2>{escape(title)}</h2>{body}</section>'


def _time_fee(tl, fee) -> str:
    parts = tl.parts(promised="承诺时限：{}", legal="法定时限：{}", on_the_spot="承诺时限：即办")
    if tl.note:
        parts.append(tl.note)
    parts.append(f"收费：{fee}")
    return _li(parts)


def render_guide(doc, corpus) -> str:
    """The guide page. Section ids are the names citations use (agent.compose) and retrieval units
    use (index.units), so ``/guide/{id}#{section}`` lands on the cited part."""
    kind = doc.kind
    title = doc.title
    sections: list[str] = []
    if kind == "scenario":
        sections.append(_section("summary", "一件事简介", f"<p>{escape(doc.summary)}</p>"
                                 f"<p class='muted'>牵头部门：{escape(doc.lead_department)}；协同部门："
                                 f"{escape('、'.join(doc.departments))}</p>", ("lead",)))
        if doc.conditions:
            sections.append(_section("conditions", "办理条件", f"<ul>{_li(doc.conditions)}</ul>"))
        members = []
        for m in doc.members:
            member = corpus.get(m.matter)
            name = member.title if member else m.matter
            link = f"<a href='/guide/{escape(m.matter)}'>{escape(name)}</a>" if member else escape(name)
            note = f" <span class='muted'>{escape(m.note)}</span>" if m.note else ""
            members.append(f"<li>{link}{note}</li>")
        sections.append(_section("members", "包含的事项", f"<ol>{''.join(members)}</ol>"))
        for i, q in enumerate(doc.questions):
            opts = "".join(f"<li>{escape(o.title)}{('：' + escape(o.note)) if o.note else ''}</li>" for o in q.options)
            sections.append(_section(f"question:{q.id}", f"情形：{q.text}", f"<ul>{opts}</ul>",
                                     ("situation", "question") if i == 0 else ()))
        sections.append(_section("materials", "一套材料", _materials(doc.materials)))
    if kind == "matter":
        info = [f"实施部门：{doc.department}", f"事项类型：{doc.matter_type}"] + ([f"事项编码：{doc.code}"] if doc.code else [])
        sections.append(_section("summary", "基本信息", f"<ul>{_li(info)}</ul>", ("lead",)))
        for i, sit in enumerate(doc.situations):
            body = (f"<ul>{_li(sit.conditions)}</ul>" if sit.conditions else "") + _materials(sit.materials)
            aliases = (f"situation:{sit.id}:materials",) + (("situation", "materials", "conditions") if i == 0 else ())
            sections.append(_section(f"situation:{sit.id}", f"情形：{sit.title}", body, aliases))
    if kind in ("scenario", "matter"):
        if doc.steps:
            sections.append(_section("steps", "办理流程", f"<ol>{_li(doc.steps)}</ol>"))
        sections.append(_section("time_fee", "办理时限与收费", f"<ul>{_time_fee(doc.time_limit, doc.fee)}</ul>",
                                 ("time_limit", "fee")))
        places = [f"{p.name}（{p.address}{'，' + p.hours if p.hours else ''}{'，电话 ' + p.phone if p.phone else ''}）"
                  for p in doc.places]
        online = [f"{o.name}{'：' + o.path if o.path else ''}" for o in doc.online]
        sections.append(_section("places", "办理地点与渠道", f"<ul>{_li(places + online) or '<li>以受理部门公布为准</li>'}</ul>",
                                 ("where", "online")))
        sections.append(_section("phone", "咨询电话", f"<p>{escape(doc.phone)}</p>"))
        if doc.legal_basis:
            sections.append(_section("legal_basis", "设定依据", f"<ul>{_li(doc.legal_basis)}</ul>"))
    if kind == "faq":
        tags = f"<p class='muted'>{escape('、'.join(doc.tags))}</p>" if doc.tags else ""
        sections.append(_section("answer", "解答", f"<p>{escape(doc.answer)}</p>{tags}", ("lead", "tags")))
    if kind == "catalog":
        info = [f"实施部门：{doc.department}"] + ([f"事项编码：{doc.code}"] if doc.code else [])
        link = f"<p><a href='{escape(doc.link)}' rel='noopener'>官方办事指南</a></p>" if doc.link else ""
        sections.append(_section("summary", "事项信息", f"<ul>{_li(info)}</ul>{link}",
                                 ("lead", "catalog", "online", "phone")))
    for i, qa in enumerate(getattr(doc, "faqs", []) or []):
        sections.append(_section(f"faq:{i}", f"问：{qa.q}", f"<p>{escape(qa.a)}</p>", ("faq",) if i == 0 else ()))
    samples = "".join(f'<li id="sample_question:{i}">{escape(q)}</li>' for i, q in enumerate(doc.sample_questions))
    if samples:
        sections.append(_section("sample_question", "常见问法", f"<ul class='muted'>{samples}</ul>"))
    source = getattr(doc, "source", None)
    src = f"<footer>来源：{escape(source.name)}{(' · 更新于 ' + str(doc.updated)) if getattr(doc, 'updated', None) else ''}</footer>" if source else ""
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)} · 办事指南</title>
<link rel="stylesheet" href="/static/common.css"><link rel="stylesheet" href="/static/guide.css"></head>
<body class="guide"><header class="topbar"><a href="/" class="brand"><span class="logo">办</span>一件事智能导办</a><span class="pill">办事指南</span></header>
<main><h1 id="title">{escape(title)}</h1><p class="muted">{escape(doc.region)}</p>{''.join(sections)}{src}</main></body></html>"""


@router.get("/guide/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
def guide(doc_id: str, rt: Runtime = Depends(get_runtime)):
    corpus = rt.corpus()
    doc = corpus.get(doc_id)
    if doc is None:
        raise ApiError(404, "matter_not_found", f"找不到办事指南 {doc_id}")
    return HTMLResponse(render_guide(doc, corpus))
