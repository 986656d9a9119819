"""Eval cases: one JSON object a line, as written by people, never in code."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ExpectKind = Literal["consult", "apply", "clarify", "out_of_scope", "complaint", "human", "chitchat", "query_status"]


class PersonFacts(BaseModel):
    """What a message says about one person, as the form should hold it (only what was said)."""
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    id_number: str | None = None
    phone: str | None = None


# The speaker's role towards the person an application is for: a role of corpus/roles.yaml.
Relation = Literal["mother", "father", "child", "spouse", "relative", "guardian", "agent"]


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ExpectKind
    target: str | None = Field(default=None, description="scenario or matter title the route must match")
    must: list[str] = Field(default_factory=list, description="facts the answer must contain; a|b = either")
    must_not: list[str] = Field(default_factory=list)
    slots: dict[str, str] = Field(default_factory=dict, description="label pattern (a|b) -> value the form must hold")
    options: list[str] = Field(default_factory=list, description="clarify: one of these among the offered options (none listed: any which-service question)")
    # Form-blind slots: who said what. ``subject`` only when the application is for someone else, with the
    # speaker's ``relation`` to them; the scorer finds the fields by their role (eval/scoring.py score_people).
    people: dict[Literal["speaker", "subject"], PersonFacts] = Field(default_factory=dict)
    relation: Relation | None = None

    @model_validator(mode="after")
    def _relation_with_subject(self) -> "Expect":
        if ("subject" in self.people) != (self.relation is not None):
            raise ValueError("give relation exactly when people.subject is given")
        return self


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    query: str | None = None
    turns: list[str] | None = None
    channel: Literal["web", "app", "hotline"] = "web"
    region: str | None = None
    tags: list[str] = Field(default_factory=list)
    expect: Expect

    @model_validator(mode="after")
    def _one_of_query_or_turns(self) -> "Case":
        if bool(self.query) == bool(self.turns):
            raise ValueError("give exactly one of query or turns")
        if self.expect.kind in ("consult", "apply") and not self.expect.target:
            raise ValueError(f"a {self.expect.kind} case needs expect.target")
        return self

    @property
    def messages(self) -> list[str]:
        return list(self.turns) if self.turns else [self.query or ""]


class CaseFileError(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


def load_cases(path: Path | str) -> list[Case]:
    """Read a JSONL case file, or every ``*.jsonl`` in a folder; every bad line is reported at once
    with its file and line number."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise CaseFileError([f"{path}: no .jsonl files in this folder"])
    elif path.is_file():
        files = [path]
    else:
        raise CaseFileError([f"{path}: file not found"])
    cases, errors, seen = [], [], set()
    for file in files:
        read_case_lines(file, Case, cases, errors, seen)
    if errors:
        raise CaseFileError(errors)
    return cases


def read_case_lines(path: Path, model: type[BaseModel], cases: list, errors: list[str], seen: set[str]) -> None:
    """Append the file's cases (``model`` with an ``id``) to ``cases``; each bad line to ``errors`` with its
    file and line number."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            case = model.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            errors.append(f"{path.name}:{number}: not valid JSON ({exc.msg})")
            continue
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "case"
                errors.append(f"{path.name}:{number}: {where}: {err['msg']}")
            continue
        if case.id in seen:
            errors.append(f"{path.name}:{number}: duplicate case id {case.id!r}")
            continue
        seen.add(case.id)
        cases.append(case)
