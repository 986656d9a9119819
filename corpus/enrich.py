"""Plain words for catalogue-only matters: what each one is for, in the words people use.

A catalogue matter is known by its formal title alone (安全评价报告以及落实情况的备案); people describe their
need (我开了个码头要报备什么). Each matter gets, as its own fields beside the title:

- ``domain``: its department's plain domain words, from ``<region>/departments.yaml``;
- ``kind``: its kind (task type) in plain words, from ``corpus/catalog_kinds.yaml``;
- ``keywords`` and ``questions`` (相似问法): generated offline by the local LLM (``daoban catalog enrich``) and
  cached in ``<region>/catalog_enrich.yaml`` with a review status per entry.

Generated text never goes live silently: entries start ``unreviewed``; ``approved`` entries are always indexed,
``rejected`` ones never, and the cache file's ``index_unreviewed`` says which parts of unreviewed entries are
(a decision content staff can change in the data file). Nothing here is shown to users as a fact: these words
only help retrieval find the matter, whose answer stays its title, department and official link."""
from __future__ import annotations

import fcntl
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from corpus.datafile import DataFileError, load_data_file
from corpus.loader import Problem, SourceInfo

if TYPE_CHECKING:
    from corpus.loader import Corpus
    from corpus.schema import CatalogMatter

KINDS_FILE = Path(__file__).parent / "catalog_kinds.yaml"
DEPARTMENTS = "departments.yaml"   # in a region folder
CACHE = "catalog_enrich.yaml"      # in a region folder

Status = Literal["unreviewed", "approved", "rejected"]
Part = Literal["keywords", "questions"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _no_blank(words: list[str]) -> list[str]:
    if any(not w.strip() for w in words):
        raise ValueError("an empty word")
    return words


class Department(_Data):
    name: str = Field(description="the department's name as the catalogue writes it, e.g. 区人社局")
    full_name: str | None = Field(default=None, description="the name people know, e.g. 广安区人力资源和社会保障局")
    domain: list[str] = Field(min_length=1, description="plain words for what it handles: 社保、就业、工伤…")
    link: str | None = Field(default=None, description="the department's page of matters, where known")

    _words = field_validator("domain")(_no_blank)


class Departments(_Data):
    """``<region>/departments.yaml``."""

    # Where a department has no page of its own: the region platform's matter search.
    catalogue_link: str
    departments: list[Department] = Field(min_length=1)

    def by_name(self) -> dict[str, Department]:
        return {d.name: d for d in self.departments}


class KindWords(_Data):
    """``corpus/catalog_kinds.yaml``: a matter type (行政许可…) in plain words."""

    kinds: dict[str, list[str]]


class EnrichEntry(_Data):
    id: str
    title: str = Field(description="the matter's title when generated: a reviewer reads it; checked on load")
    status: Status = "unreviewed"
    keywords: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)
    model: str | None = None
    seconds: float | None = Field(default=None, description="generation time, for the speed report")

    _words = field_validator("keywords", "questions")(_no_blank)


class EnrichCache(_Data):
    """``<region>/catalog_enrich.yaml``."""

    # Off by default: measured on catalog-dev and blind-dev's catalog cases with 63 of 1,135 matters generated,
    # unreviewed keywords cost one case on each set and keywords with questions two on blind-dev (a few generated
    # matters with generic words outrank the many without any); reviewed words go in once approved.
    index_unreviewed: list[Part] = Field(default_factory=list)
    entries: list[EnrichEntry] = Field(default_factory=list)

    def by_id(self) -> dict[str, EnrichEntry]:
        return {e.id: e for e in self.entries}


def _no_repeats(list_name: str, key: str):
    """A data file check: each entry of ``list_name`` has its own ``key``, else file:line of the repeat."""
    def check(model, info: SourceInfo) -> list[str]:
        seen: dict[str, int] = {}
        out = []
        for i, row in enumerate(getattr(model, list_name)):
            value = getattr(row, key)
            if value in seen:
                out.append(f"{info.file}:{info.line_of((list_name, i, key))}: {list_name}.{i}.{key}: "
                           f"{value!r} repeats entry {seen[value]}")
            seen.setdefault(value, i)
        return out
    return check


_departments_check = _no_repeats("departments", "name")
_cache_check = _no_repeats("entries", "id")


def load_kinds(path: Path = KINDS_FILE) -> KindWords:
    return load_data_file(path, KindWords)


def load_departments(path: Path) -> Departments:
    return load_data_file(path, Departments, check=_departments_check)


def load_cache(path: Path) -> EnrichCache:
    """The cache, empty when the file does not exist yet; ``DataFileError`` (file:line) when it is broken."""
    if not Path(path).exists():
        return EnrichCache()
    return load_data_file(path, EnrichCache, check=_cache_check)


_HEADER = """\
# 相似问法 and plain keywords of the catalogue matters, generated offline by `daoban catalog enrich` (local LLM).
# status: unreviewed (as generated) | approved | rejected, set in the staff console (/admin/catalog) or here.
# approved entries are indexed, rejected ones never; index_unreviewed lists which parts of unreviewed entries
# are indexed. These words only help retrieval find the matter: the answer stays its title, department and link.
"""


def _leading_comments(path: Path) -> str | None:
    """The comment block a cache file opens with, so a rewrite keeps the file's own header."""
    if not path.exists():
        return None
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.startswith("#"):
            break
        lines.append(line)
    return "".join(lines) or None


def save_cache(path: Path, cache: EnrichCache) -> None:
    """Write atomically (a reader never sees half a file), under the file's own header where it has one (the
    guides' phrasings file shares this shape and says what it is itself)."""
    path = Path(path)
    header = _leading_comments(path) or _HEADER
    data = cache.model_dump(exclude_none=True)
    for e in data["entries"]:
        if not e.get("keywords"):
            e.pop("keywords", None)
        if not e.get("questions"):
            e.pop("questions", None)
    text = header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def cache_lock(path: Path) -> Iterator[None]:
    """One writer at a time (the generator and the console may both write the cache)."""
    lock_path = Path(path).with_name(f".{Path(path).name}.lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def indexed_parts(entry: EnrichEntry, cache: EnrichCache) -> tuple[list[str], list[str]]:
    """(keywords, questions) of ``entry`` that go into the index under the review policy."""
    if entry.status == "rejected":
        return [], []
    if entry.status == "approved":
        return entry.keywords, entry.questions
    parts = set(cache.index_unreviewed)
    return (entry.keywords if "keywords" in parts else [], entry.questions if "questions" in parts else [])


def plain_words(doc: "CatalogMatter", departments: dict[str, Department], kinds: KindWords,
                entry: EnrichEntry | None, cache: EnrichCache | None):
    """The ``PlainWords`` of one catalogue matter."""
    from corpus.schema import PlainWords

    dept = departments.get(doc.department)
    keywords, questions = indexed_parts(entry, cache) if entry is not None and cache is not None else ([], [])
    return PlainWords(domain=list(dept.domain) if dept else [],
                      kind=list(kinds.kinds.get(doc.matter_type or "", [])),
                      keywords=list(keywords), questions=list(questions))


def enrich_corpus(corpus: "Corpus") -> None:
    """Give every catalogue matter of the loaded corpus its plain words; data-file problems become corpus
    problems (file:line), and a region whose data files are broken keeps its matters unenriched."""
    if not corpus.catalog:
        return
    try:
        kinds = load_kinds()
    except DataFileError as exc:
        corpus.problems.extend(problems_of(exc, "catalog-kinds"))
        kinds = KindWords(kinds={})
    by_folder: dict[Path, list] = {}
    for doc in corpus.catalog.values():
        info = corpus.sources.get(doc.id)
        if info is not None:
            by_folder.setdefault(Path(info.file).parent.parent, []).append(doc)
    for region_dir, docs in by_folder.items():
        depts: dict[str, Department] = {}
        cache: EnrichCache | None = None
        if (region_dir / DEPARTMENTS).exists():
            try:
                loaded = load_departments(region_dir / DEPARTMENTS)
                depts = loaded.by_name()
                region = corpus.regions.get(region_dir.name)
                corpus.departments[region.name if region else docs[0].region] = loaded
            except DataFileError as exc:
                corpus.problems.extend(problems_of(exc, "departments"))
        try:
            cache = load_cache(region_dir / CACHE)
        except DataFileError as exc:
            corpus.problems.extend(problems_of(exc, "catalog-enrich"))
        entries = cache.by_id() if cache is not None else {}
        for doc in docs:
            entry = entries.get(doc.id)
            if entry is not None and entry.title != doc.title:
                entry = None  # generated for another title: stale, so not indexed
            doc.plain = plain_words(doc, depts, kinds, entry, cache)


def problems_of(exc: DataFileError, code: str) -> list[Problem]:
    """A broken data file's problems (``file:line: message``) as corpus problems under ``code``."""
    out = []
    for p in exc.problems:
        file, _, rest = p.partition(":")
        line, _, message = rest.partition(":")
        out.append(Problem(file, int(line) if line.strip().isdigit() else 1, "", message.strip(), code))
    return out
