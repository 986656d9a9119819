"""The generic application form of a matter guide without its own ``form:``, derived at load from
``corpus/generic_form.yaml`` and the guide's facts (its 情形, places and online channels): one mechanism for every
matter, no per-matter code."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from corpus.schema import Form, FormField, MatterGuide

GENERIC_FORM_FILE = Path(__file__).parent / "generic_form.yaml"


class GenericField(FormField):
    options_from: Literal["situations", "delivery"] | None = None


class GenericTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(pattern=r"\{title\}")
    subject_role: str
    fields: list[GenericField] = Field(min_length=3)


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    always: list[str] = Field(min_length=1)
    online: list[str] = Field(default_factory=list)


class GenericForms(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: GenericTemplate
    company: GenericTemplate
    delivery: Delivery


@functools.cache
def generic_templates(path: Path = GENERIC_FORM_FILE) -> GenericForms:
    from corpus.datafile import load_data_file  # lazy: it imports the loader, which imports this module

    return load_data_file(path, GenericForms)


def form_id_of(doc_id: str) -> str:
    return f"{doc_id[:75]}-form"


def generic_form(matter: MatterGuide, templates: GenericForms | None = None) -> Form:
    """The matter's generic form: the company's when only 法人 apply, else the person's (who it is for, the 情形,
    how to receive the result, a 代办人 when someone applies for another)."""
    templates = templates or generic_templates()
    template = templates.company if matter.audience == ["法人"] else templates.person
    options = {
        "situations": [s.title for s in matter.situations],
        "delivery": templates.delivery.always + (templates.delivery.online if matter.online else []),
    }
    fields = []
    for f in template.fields:
        data = f.model_dump(exclude={"options_from"}, exclude_unset=True)
        if f.options_from:
            data["options"] = list(dict.fromkeys(options[f.options_from]))
            if len(data["options"]) < 2:
                continue  # nothing to choose
        fields.append(FormField.model_validate(data))
    keys = {f.key for f in fields}
    checks = [c for c in matter.checks if {c.field, c.other or c.field} <= keys]  # validate reports the others
    return Form(id=form_id_of(matter.id), title=template.title.format(title=matter.title),
                subject_role=template.subject_role, fields=fields, checks=checks)


def derive_generic_forms(matters: dict[str, MatterGuide]) -> None:
    for m in matters.values():
        if m.form is None:
            m.generic_form = generic_form(m)


def contact_form(doc_id: str, title: str, templates: GenericForms | None = None) -> Form:
    """The person template without the guide's choices: what the user said about who applies, for a hand-off to an
    application made elsewhere (a catalogue matter's official page)."""
    templates = templates or generic_templates()
    fields = [FormField.model_validate(f.model_dump(exclude={"options_from"}, exclude_unset=True))
              for f in templates.person.fields if not f.options_from]
    return Form(id=form_id_of(doc_id), title=templates.person.title.format(title=title),
                subject_role=templates.person.subject_role, fields=fields)
