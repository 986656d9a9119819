"""Generate plain keywords and 相似问法 for catalogue matters with the local LLM, offline, into the region's
``catalog_enrich.yaml`` (corpus/enrich.py). Resumable: a matter already in the cache with its current title is
skipped, and every matter is saved as soon as it is generated."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from corpus.enrich import CACHE, EnrichEntry, cache_lock, load_cache, save_cache

if TYPE_CHECKING:
    from corpus.schema import CatalogMatter

# Kinds people ask about most come first, so a bounded run covers the likeliest needs: services, payments and
# confirmations before licences, and licences before internal filings (其他行政权力 is mostly 备案 by firms).
KIND_ORDER = ["公共服务", "行政给付", "行政确认", "行政奖励", "行政裁决", "行政许可", "行政征收", "行政检查",
              "行政备案", "其他行政权力"]

# The example is a fixed prefix: llama.cpp reuses its evaluated state from one matter to the next.
SYSTEM = ("你是政务服务网站的编辑。老百姓不知道事项的正式名称，只会用大白话说自己的事。"
          "根据给出的事项，写老百姓会用的口语关键词，和他们会怎么问（短句，说自己的情况，不用正式名称，"
          "不写部门名称，不写你好）。只输出JSON。\n"
          "例：事项名称：城乡居民基本养老保险待遇领取 事项类型：行政给付\n"
          '{"keywords":["领养老金","农村养老","到60岁","每月领钱"],'
          '"questions":["我妈满60了怎么领养老钱","农村老人每月领的钱去哪办","交了居民养老保险啥时候能领"]}')

SCHEMA = {
    "type": "object",
    "properties": {
        "keywords": {"type": "array", "items": {"type": "string", "maxLength": 8}, "minItems": 3, "maxItems": 5},
        "questions": {"type": "array", "items": {"type": "string", "maxLength": 28}, "minItems": 3,
                      "maxItems": 3},
    },
    "required": ["keywords", "questions"],
}

MAX_QUESTION_CHARS = 60
MAX_KEYWORD_CHARS = 10


def prompt(doc: "CatalogMatter") -> str:
    lines = [f"事项名称：{doc.title}"]
    if doc.main_item and doc.main_item != doc.title:
        lines.append(f"所属主项：{doc.main_item}")
    if doc.matter_type:
        lines.append(f"事项类型：{doc.matter_type}")
    return " ".join(lines)


def _clean(items, limit: int, title: str) -> list[str]:
    out: list[str] = []
    for x in items if isinstance(items, list) else []:
        if not isinstance(x, str):
            continue
        x = re.sub(r"\s+", "", x).strip("\"'“”")
        if 2 <= len(x) <= limit and x != title and x not in out:
            out.append(x)
    return out


def parse(text: str, title: str) -> tuple[list[str], list[str]]:
    """(keywords, questions) from the model's JSON; empty lists when it is not usable."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        m = re.search(r"\{.*\}", text, re.S)
        try:
            data = json.loads(m.group(0)) if m else {}
        except json.JSONDecodeError:
            data = {}
    if not isinstance(data, dict):
        return [], []
    return _clean(data.get("keywords"), MAX_KEYWORD_CHARS, title), _clean(data.get("questions"), MAX_QUESTION_CHARS, title)


def order(docs: list["CatalogMatter"]) -> list["CatalogMatter"]:
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    return sorted(docs, key=lambda d: (rank.get(d.matter_type or "", len(rank)), d.department, d.id))


@dataclass
class RunReport:
    generated: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    remaining: int = 0

    @property
    def seconds_per_matter(self) -> float:
        return self.seconds / self.generated if self.generated else 0.0


class Generator:
    """One llama.cpp model, one matter at a time."""

    def __init__(self, model_path: Path, n_threads: int = 1, model_name: str | None = None):
        from llama_cpp import Llama  # lazy: only this command needs llama.cpp

        self.llm = Llama(model_path=str(model_path), n_threads=n_threads, n_ctx=1024, n_batch=256, verbose=False)
        self.model_name = model_name or Path(model_path).stem

    def __call__(self, doc: "CatalogMatter", department: str) -> tuple[list[str], list[str]]:
        out = self.llm.create_chat_completion(
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt(doc)}],
            response_format={"type": "json_object", "schema": SCHEMA}, temperature=0.3, max_tokens=160)
        keywords, questions = parse(out["choices"][0]["message"]["content"] or "", doc.title)
        # The department is said by the answer itself; as a keyword it would only tie its matters together.
        return [k for k in keywords if k not in department and department not in k], questions


def run(docs: list["CatalogMatter"], region_dir: Path, generate: Callable[["CatalogMatter", str], tuple],
        department_name: Callable[[str], str], model_name: str, limit: int | None = None,
        minutes: float | None = None, progress: Callable[[int, int, str], None] | None = None) -> RunReport:
    """Generate for the matters not yet in the cache, in ``order``, until ``limit`` matters or ``minutes``."""
    path = region_dir / CACHE
    done = {e.id: e.title for e in load_cache(path).entries}
    todo = [d for d in order(docs) if done.get(d.id) != d.title]
    report = RunReport(skipped=len(docs) - len(todo))
    if limit is not None:
        todo_run = todo[:limit]
    else:
        todo_run = todo
    deadline = time.monotonic() + minutes * 60 if minutes else None
    for i, doc in enumerate(todo_run):
        if deadline is not None and time.monotonic() >= deadline:
            break
        started = time.perf_counter()
        try:
            keywords, questions = generate(doc, department_name(doc.department))
        except Exception:  # noqa: BLE001 - one bad generation must not lose the run; it is retried next time
            keywords, questions = [], []
        took = time.perf_counter() - started
        report.seconds += took
        if not keywords and not questions:
            report.failed += 1
        else:
            entry = EnrichEntry(id=doc.id, title=doc.title, keywords=keywords, questions=questions,
                                model=model_name, seconds=round(took, 1))
            with cache_lock(path):  # re-read: the console may have reviewed entries meanwhile
                cache = load_cache(path)
                cache.entries = [e for e in cache.entries if e.id != doc.id] + [entry]
                save_cache(path, cache)
            report.generated += 1
        if progress is not None:
            progress(i + 1, len(todo_run), doc.title)
    report.remaining = len(todo) - report.generated
    return report
