"""Field-aware retrieval units: each document yields a title card, one unit per 情形, steps,
the time and fee line, each FAQ and each sample question (question-to-question matching)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

from corpus.schema import FAQ, CatalogMatter, MatterGuide, Scenario

# Dense vectors are truncated here: long lists blur the vector and cost embedding time.
_MAX_EMBED_CHARS = 160
# Sections read by BM25 only: long lists of steps, deadlines and addresses say little to a dense model
# about *which* service a question means, and skipping them cuts embedding time by about a quarter.
SPARSE_ONLY = ("steps", "time_fee", "where", "tags", "answer", "conditions", "materials")
# Sections that rank but do not teach the service vocabulary (service words, homophone targets): phrasings are
# written with dialect and deliberate voice-to-text errors (社宝 for 社保), which must never become known words.
NOT_VOCABULARY = ("phrasing",)


def is_vocabulary(section: str) -> bool:
    return section.split(":")[0] not in NOT_VOCABULARY


@dataclass(frozen=True)
class Unit:
    uid: str          # "<doc id>#<section>"
    doc_id: str
    kind: str         # scenario | matter | faq | catalog
    title: str        # the document's title
    section: str      # title | situation:<id> | steps | time_fee | faq:<n> | sample_question:<n> | summary | materials
    region: str
    audience: str     # "个人,法人" (empty = everyone)
    text: str         # what BM25 reads and what is shown as the matched section
    embed_text: str   # what the dense model reads ("" = BM25 only)

    @property
    def content_hash(self) -> str:
        return hashlib.sha1(self.embed_text.encode("utf-8")).hexdigest()[:16]


def _time_fee(doc: MatterGuide | Scenario) -> str | None:
    t = doc.time_limit
    parts = t.parts()
    if t.note:
        parts.append(t.note)
    if doc.fee:
        parts.append(f"收费：{doc.fee}")
    return "办理时限：" + "；".join(parts) if parts else None


def _materials(materials) -> str:
    names = []
    for m in materials:
        tag = "（免提交）" if m.exempt else ""
        names.append(m.name + tag)
    return "、".join(names)


def _process_units(doc: MatterGuide | Scenario, title: str, add) -> None:
    """Steps, the time and fee line, and the channels: the same units for a matter and a scenario."""
    if doc.steps:
        add("steps", f"{title}办理流程：" + "；".join(doc.steps))
    tf = _time_fee(doc)
    if tf:
        add("time_fee", f"{title}{tf}")
    if doc.online or doc.places:
        where = "；".join([o.name + (f"（{o.path}）" if o.path else "") for o in doc.online]
                         + [p.name for p in doc.places])
        add("where", f"{title}办理渠道：{where}")


def _plain_units(doc: CatalogMatter, add) -> None:
    """A catalogue matter's plain words (corpus/enrich.py) as units of their own, beside its title card: what it
    is for (plain keywords) and each 相似问法 like a sample question.

    Its department's domain and its kind are not indexed per matter: hundreds of matters share them, and as units
    they lifted every matter of a department alike (catalog-dev recall@1 48% -> 37%). The domain names the
    department when no matter is confident (agent/responders.py)."""
    plain = doc.plain
    if plain is None:
        return
    if plain.keywords:  # the main item is on the title card already: a unit of it alone ties its siblings
        add("plain", "、".join(plain.keywords))
    for i, q in enumerate(plain.questions):
        add(f"similar_question:{i}", q)


def document_units(doc: MatterGuide | Scenario | FAQ | CatalogMatter) -> list[Unit]:
    kind = doc.kind
    title = doc.title
    audience = ",".join(getattr(doc, "audience", []) or [])
    out: list[Unit] = []

    def add(section: str, text: str, embed: str | None = None) -> None:
        text = text.strip()
        if not text:
            return
        dense = "" if section.split(":")[0] in SPARSE_ONLY else (embed or text)[:_MAX_EMBED_CHARS]
        out.append(Unit(f"{doc.id}#{section}", doc.id, kind, title, section, doc.region, audience, text, dense))

    aliases = "、".join(getattr(doc, "aliases", []) or [])
    if isinstance(doc, CatalogMatter):
        card = title + (f"（又称{aliases}）" if aliases else "") + f"。{doc.department}"
        if doc.main_item and doc.main_item not in ("未分类", title):
            card += f"。{doc.main_item}"
        if doc.matter_type:
            card += f"。{doc.matter_type}"
        add("title", card)
        _plain_units(doc, add)
    elif isinstance(doc, FAQ):
        add("title", doc.question, doc.question)
        add("answer", f"{doc.question} {doc.answer}", f"{doc.question} {doc.answer}")
        if doc.tags:
            add("tags", "、".join(doc.tags) + f"。{doc.question}")
    elif isinstance(doc, MatterGuide):
        card = title + (f"（又称{aliases}）" if aliases else "") + f"。{doc.department}。{doc.matter_type}"
        add("title", card)
        for s in doc.situations:
            text = f"{title}：{s.title}。" + "；".join(s.conditions)
            embed = text
            mats = _materials(s.materials)
            if mats:
                text += f"。所需材料：{mats}"
            add(f"situation:{s.id}", text, embed)
        _process_units(doc, title, add)
    elif isinstance(doc, Scenario):
        card = title + (f"（又称{aliases}）" if aliases else "") + f"。{doc.lead_department}"
        add("title", card)
        add("summary", f"{title}：{doc.summary}")
        if doc.conditions:
            add("conditions", f"{title}申请条件：" + "；".join(doc.conditions))
        if doc.materials:
            add("materials", f"{title}所需材料：{_materials(doc.materials)}")
        for q in doc.questions:
            add(f"question:{q.id}", f"{title}：{q.text} " + "；".join(o.title for o in q.options))
        _process_units(doc, title, add)
    for i, qa in enumerate(getattr(doc, "faqs", []) or []):
        add(f"faq:{i}", f"{qa.q} {qa.a}", qa.q)
    for i, q in enumerate(doc.sample_questions or []):
        add(f"sample_question:{i}", q)
    for i, q in enumerate(getattr(doc, "phrasings", None) or []):  # written blind (corpus/phrasings.py)
        add(f"phrasing:{i}", q)
    return out


def dictionary_words(docs: Iterable[MatterGuide | Scenario | FAQ | CatalogMatter]) -> set[str]:
    """Domain words for jieba: short titles, aliases, material names, departments."""
    words: set[str] = set()
    for doc in docs:
        words.update(getattr(doc, "aliases", []) or [])
        if len(doc.title) <= 10:
            words.add(doc.title)
        for attr in ("department", "lead_department", "main_item"):
            v = getattr(doc, attr, None)
            if v and v != "未分类":
                words.add(v)
        words.update(getattr(doc, "departments", []) or [])
        mats = list(getattr(doc, "materials", []) or [])
        for s in getattr(doc, "situations", []) or []:
            mats.extend(s.materials)
        for m in mats:
            words.add(m.name.split("（")[0].split("(")[0])
        if isinstance(doc, Scenario):
            for q in doc.questions:
                for o in q.options:
                    words.update(o.keywords)
    return {w.strip() for w in words if w and 2 <= len(w.strip()) <= 12}
