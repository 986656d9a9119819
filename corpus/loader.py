"""Load the YAML corpus into typed documents, keeping file and line for every problem."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import BaseModel, ValidationError

from corpus.generic_form import derive_generic_forms
from corpus.schema import (
    FAQ,
    KIND_BY_FOLDER,
    CatalogMatter,
    MatterGuide,
    Region,
    Scenario,
)

try:  # the C loader is ~10x faster on the 1,000+ catalogue files
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

DEFAULT_ROOT = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the corpus, pointing at where to fix it."""

    file: str
    line: int
    field: str
    message: str
    code: str = "schema"
    severity: str = "error"  # error | warning (quality gaps that do not break the assistant)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        tag = self.code if self.severity == "error" else f"{self.code}, warning"
        return f"{where}: [{tag}] {self.field}: {self.message}" if self.field else f"{where}: [{tag}] {self.message}"


@dataclass
class SourceInfo:
    """Where a document came from: its file and the line of each field path."""

    file: Path
    lines: dict[tuple, int] = field(default_factory=dict)

    def line_of(self, path: Iterable[Any] = ()) -> int:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


@dataclass
class Corpus:
    root: Path
    regions: dict[str, Region] = field(default_factory=dict)  # folder name -> Region
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    matters: dict[str, MatterGuide] = field(default_factory=dict)
    faqs: dict[str, FAQ] = field(default_factory=dict)
    catalog: dict[str, CatalogMatter] = field(default_factory=dict)
    # region name -> its catalogue departments (corpus/enrich.py, from <region>/departments.yaml)
    departments: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, SourceInfo] = field(default_factory=dict)  # doc id -> where it was read
    problems: list[Problem] = field(default_factory=list)
    # Documents that failed the schema, as raw mappings: still checked where possible, and still
    # "existing" for references, so one bad file does not cascade into errors in others.
    invalid: dict[str, tuple[str, dict, SourceInfo]] = field(default_factory=dict)  # id -> (folder, data, info)

    def get(self, doc_id: str) -> Scenario | MatterGuide | FAQ | CatalogMatter | None:
        for table in (self.scenarios, self.matters, self.faqs, self.catalog):
            if doc_id in table:
                return table[doc_id]
        return None

    def documents(self) -> Iterable[Scenario | MatterGuide | FAQ | CatalogMatter]:
        yield from self.scenarios.values()
        yield from self.matters.values()
        yield from self.faqs.values()
        yield from self.catalog.values()

    def guide_by_form(self, form_id: str) -> Scenario | MatterGuide | None:
        """The scenario or matter guide whose application form (declared or generic) has this id."""
        for doc in (*self.scenarios.values(), *self.matters.values()):
            if doc.application_form.id == form_id:
                return doc
        return None

    def region_of(self, region_name: str) -> Region | None:
        return next((r for r in self.regions.values() if r.name == region_name), None)

    def __len__(self) -> int:
        return len(self.scenarios) + len(self.matters) + len(self.faqs) + len(self.catalog)


def _line_map(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map each field path (keys and list indexes) to its 1-based line in the file."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, path + (i,), out)
    return out


def read_yaml(path: Path, text: str | None = None) -> tuple[Any, SourceInfo]:
    """Parse one YAML file (or ``text`` standing in for it); raises yaml.YAMLError with a mark on bad syntax."""
    text = path.read_text(encoding="utf-8") if text is None else text
    node = yaml.compose(text, Loader=_Loader)
    info = SourceInfo(file=path)
    if node is None:
        return None, info
    info.lines = _line_map(node)
    return yaml.load(text, Loader=_Loader), info


def relative_path(path: Path, root: Path) -> str:
    """A corpus file as problems name it: relative to the repository when the corpus is the shipped one."""
    try:
        return str(path.relative_to(root.parent.parent if root.name == "data" else root))
    except ValueError:
        return str(path)


def parse_document(path: Path, model: type[BaseModel], root: Path,
                   text: str | None = None) -> tuple[BaseModel | dict | None, SourceInfo, list[Problem]]:
    """The document, or on schema errors its raw mapping (for further checks) with the problems."""
    rel = relative_path(path, root)
    try:
        data, info = read_yaml(path, text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return None, SourceInfo(file=path), [Problem(rel, line, "", f"YAML syntax error: {getattr(exc, 'problem', exc)}", "yaml")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, SourceInfo(file=path), [Problem(rel, 1, "", f"cannot read file: {exc}", "io")]
    if not isinstance(data, dict):
        return None, info, [Problem(rel, 1, "", "the file must hold one mapping (key: value) document", "schema")]
    try:
        return model.model_validate(data), info, []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field_name = ".".join(str(p) for p in loc)
            problems.append(Problem(rel, info.line_of(loc), field_name, err["msg"], "schema"))
        return data, info, problems


def load_corpus(root: Path | str | None = None, regions: Iterable[str] | None = None,
                overrides: dict[Path, str] | None = None) -> Corpus:
    """Read every region folder under ``root``. Problems are collected, never raised.

    ``overrides`` maps a file path to text that stands in for its content (an edit being checked)."""
    root = Path(root) if root else DEFAULT_ROOT
    overrides = {Path(k).resolve(): v for k, v in (overrides or {}).items()}
    corpus = Corpus(root=root)
    if not root.is_dir():
        corpus.problems.append(Problem(str(root), 1, "", "corpus folder does not exist", "io"))
        return corpus
    wanted = set(regions) if regions else None
    for region_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        region_file = region_dir / "region.yaml"
        if region_file.exists():
            region, _, problems = parse_document(region_file, Region, root)
            corpus.problems.extend(problems)
            if region is not None:
                if wanted and region.name not in wanted and region_dir.name not in wanted:
                    continue
                corpus.regions[region_dir.name] = region  # type: ignore[assignment]
        elif wanted and region_dir.name not in wanted:
            continue
        for folder, model in KIND_BY_FOLDER.items():
            table = {
                "scenarios": corpus.scenarios,
                "matters": corpus.matters,
                "faqs": corpus.faqs,
                "catalog": corpus.catalog,
            }[folder]
            for path in sorted((region_dir / folder).glob("*.y*ml")):
                doc, info, problems = parse_document(path, model, root, overrides.get(path.resolve()))
                corpus.problems.extend(problems)
                if isinstance(doc, dict):
                    if isinstance(doc.get("id"), str):
                        corpus.invalid.setdefault(doc["id"], (folder, doc, info))
                    continue
                if doc is None:
                    continue
                if doc.id in corpus.sources:  # type: ignore[attr-defined]
                    first = corpus.sources[doc.id].file  # type: ignore[attr-defined]
                    corpus.problems.append(
                        Problem(relative_path(path, root), info.line_of(("id",)), "id",
                                f"duplicate id {doc.id!r} (first in {relative_path(first, root)})", "duplicate-id"))
                    continue
                table[doc.id] = doc  # type: ignore[attr-defined]
                corpus.sources[doc.id] = info  # type: ignore[attr-defined]
    from corpus.enrich import enrich_corpus  # lazy: it imports this module

    enrich_corpus(corpus)  # plain words of catalogue matters, from the region's data files
    from corpus.phrasings import attach_phrasings

    attach_phrasings(corpus)  # how people ask for each guide, written blind (<region>/phrasings.yaml)
    derive_generic_forms(corpus.matters)  # a matter without its own form can still be applied for
    return corpus
