"""Which electronic licence certifies which value, and which form field holds it: ``agent/data/licences.yaml``
read through pydantic, every problem reported with its file and line (a role not in corpus/roles.yaml, an item
no licence value names, a key pattern that is no regular expression)."""
from __future__ import annotations

import functools
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corpus.datafile import load_data_file
from corpus.loader import SourceInfo
from corpus.roles import known_roles

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "licences.yaml"
HOLDER = "holder"


class Item(BaseModel):
    """What a value is, and how a form field says it holds one."""

    model_config = ConfigDict(extra="forbid")
    types: list[str] = Field(default_factory=list)
    keys: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    person: bool = False  # a person's value: only a field that says whose it is holds it

    @field_validator("keys")
    @classmethod
    def _patterns(cls, keys: list[str]) -> list[str]:
        for k in keys:
            try:
                re.compile(k)
            except re.error as exc:
                raise ValueError(f"{k!r} is not a regular expression: {exc}") from None
        return keys

    def holds(self, key: str, label: str, type_: str) -> bool:
        if self.types and type_ not in self.types:
            return False
        if not self.keys and not self.labels:
            return True  # the type alone says it (an ID number)
        return any(re.search(k, key) for k in self.keys) or any(w in label for w in self.labels)


class Certified(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: str
    person: str = Field(pattern=r"^[a-z][a-z_]*$")


class LicenceKind(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str] = Field(default_factory=list, description="other names a platform gives this licence")
    household: bool = False
    kin_of_holder: bool = False
    # the holder's own saved values (an account's 常用地址), not certified: they fill an empty field only
    declared: bool = False
    gendered: dict[str, dict[str, str]] = Field(default_factory=dict, description="person -> holder's gender -> role")
    values: dict[str, Certified] = Field(min_length=1)


class LicenceMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    not_keys: list[str] = Field(default_factory=list)
    not_labels: list[str] = Field(default_factory=list)
    gendered_roles: dict[str, str] = Field(default_factory=dict)
    items: dict[str, Item] = Field(min_length=1)
    licences: dict[str, LicenceKind] = Field(min_length=1)

    @field_validator("not_keys")
    @classmethod
    def _not_patterns(cls, keys: list[str]) -> list[str]:
        return Item._patterns(keys)

    def item_of(self, key: str, label: str, type_: str) -> tuple[str, Item] | None:
        """The item a field holds (the first that matches), or None (also for a field asking for a new value)."""
        if any(re.search(k, key) for k in self.not_keys) or any(w in label for w in self.not_labels):
            return None
        return next(((name, item) for name, item in self.items.items() if item.holds(key, label, type_)), None)

    @functools.cached_property
    def _kinds(self) -> dict[str, str]:
        out = {}
        for kind, spec in self.licences.items():
            for name in [kind, *spec.names]:
                out.setdefault(name, kind)
        return out

    def kind(self, name: str) -> str | None:
        """The licence kind a platform's name stands for (户口簿 -> 居民户口簿), or None when it is unknown."""
        return self._kinds.get(name)

    def spec(self, name: str) -> LicenceKind | None:
        kind = self.kind(name)
        return self.licences[kind] if kind else None

    def declared(self, name: str) -> bool:
        """Whether the licence ``name`` stands for holds the holder's own saved values rather than certified ones."""
        spec = self.spec(name)
        return spec is not None and spec.declared

    def names_of(self, name: str) -> list[str]:
        """Every name of the licence ``name`` stands for (to find it in a material's or a field's wording)."""
        kind = self.kind(name)
        return [kind, *self.licences[kind].names] if kind else [name]


def _problems(path: Path, model: LicenceMap, info: SourceInfo) -> list[str]:
    roles = known_roles() | {HOLDER}
    out = []
    for kind, spec in model.licences.items():
        for key, c in spec.values.items():
            if c.item not in model.items:
                out.append(f"{path}:{info.line_of(('licences', kind, 'values', key, 'item'))}: licences.{kind}.values."
                           f"{key}.item: {c.item!r} is not one of the items ({', '.join(model.items)})")
            if c.person not in roles:
                out.append(f"{path}:{info.line_of(('licences', kind, 'values', key, 'person'))}: licences.{kind}."
                           f"values.{key}.person: {c.person!r} is neither holder nor a role of corpus/roles.yaml")
    for kind, spec in model.licences.items():
        for person, by_gender in spec.gendered.items():
            for gender, role in by_gender.items():
                if role not in roles:
                    out.append(f"{path}:{info.line_of(('licences', kind, 'gendered', person, gender))}: licences."
                               f"{kind}.gendered.{person}.{gender}: {role!r} is not a role of corpus/roles.yaml")
    for gender, role in model.gendered_roles.items():
        if role not in roles:
            out.append(f"{path}:{info.line_of(('gendered_roles', gender))}: gendered_roles.{gender}: {role!r} is "
                       "not a role of corpus/roles.yaml")
    seen: dict[str, str] = {}
    for kind, spec in model.licences.items():
        for name in [kind, *spec.names]:
            if name in seen and seen[name] != kind:
                out.append(f"{path}:{info.line_of(('licences', kind))}: licences.{kind}: the name {name!r} is "
                           f"also {seen[name]!r}'s")
            seen.setdefault(name, kind)
    return out


def load_licence_map(path: Path | str = DEFAULT_PATH, text: str | None = None) -> LicenceMap:
    """The validated map; raises ``corpus.datafile.DataFileError`` with one ``file:line: message`` a problem."""
    path = Path(path)
    return load_data_file(path, LicenceMap, text, check=lambda m, info: _problems(path, m, info))


@functools.cache
def licence_map() -> LicenceMap:
    return load_licence_map()
