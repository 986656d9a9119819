"""Pre-review (辅助审核) of an application before it is sent: what the form and the guide can check as data.
Messages name fields, materials and questions, never a value: the review is kept with the submission in clear.

Each problem is a 补正 item tied to a field, a 情形 question or a material, with a plain explanation. ``fix`` items
must be corrected before submitting; ``prepare`` items are the materials still to bring or upload. Exempt
materials (免提交: shared data, or an electronic licence that filled a field) are listed apart."""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, Field

from agent.forms.licences import SOURCE_LICENCE, covered_materials
from agent.forms.validators import id_number_info
from agent.forms.vocabulary import ReviewWords
from agent.reply import FormFieldValue, FormState
from corpus.schema import Form, FormCheck, MatterGuide, Material, Scenario, condition_holds

Severity = Literal["fix", "prepare"]


class ReviewItem(BaseModel):
    target: Literal["field", "situation", "material"]
    key: str  # field key, 情形 question id, or material name
    label: str
    message: str
    severity: Severity = "fix"


class PreReview(BaseModel):
    status: Literal["pass", "needs_correction"]
    items: list[ReviewItem] = Field(default_factory=list)
    exempt: list[str] = Field(default_factory=list, description="免提交 materials")
    certified: list[str] = Field(default_factory=list, description="fields whose value an electronic licence "
                                 "certifies (免填写): verified, not checked again")

    @property
    def fixes(self) -> list[ReviewItem]:
        return [i for i in self.items if i.severity == "fix"]


class PreReviewer:
    """Checks one application: field formats and required fields, each person's fields against their ID, the
    form's declared checks, the 情形 still open, and the materials the chosen 情形 needs."""

    def __init__(self, words: ReviewWords):
        self.words = words

    def review(self, form: Form, state: FormState, guide: Scenario | MatterGuide, answers: dict[str, str],
               today: dt.date | None = None) -> PreReview:
        today = today or dt.date.today()
        values = {f.key: f for f in state.fields}
        items = self._fields(state) + self._names(state) + self._identity(state, today)
        items += self._same_person(state, form.subject_role)
        items += [i for c in form.checks if condition_holds(c.when, answers)
                  if (i := self._declared(c, values, today))]
        situation_items, materials = _materials(guide, answers, state, form)
        items += situation_items
        licensed = set(covered_materials(form, state, [m.name for m, _ in materials]))
        exempt = []
        for m, situation in materials:
            if m.exempt or m.name in licensed:
                exempt.append(m.name)
            elif m.required:
                items.append(ReviewItem(target="material", key=m.name, label=m.name, severity="prepare",
                                        message=f"请准备{m.name}（{m.form}）" + (f"：{m.notes}" if m.notes else "")
                                        + (f"（{situation}时）" if situation else "")))
        status = "needs_correction" if any(i.severity == "fix" for i in items) else "pass"
        certified = [f.key for f in state.fields if f.source == SOURCE_LICENCE and f.value]
        return PreReview(status=status, items=items, exempt=exempt, certified=certified)

    @staticmethod
    def _fields(state: FormState) -> list[ReviewItem]:
        items = []
        for f in state.fields:
            if f.source == SOURCE_LICENCE and f.value:
                continue  # certified by the licence: verified
            if f.value and not f.valid:
                items.append(ReviewItem(target="field", key=f.key, label=f.label,
                                        message=f.error or f"{f.label}的格式不对，请核对"))
            elif f.key in state.missing:
                items.append(ReviewItem(target="field", key=f.key, label=f.label, message=f"请填写{f.label}"))
        return items

    def _identity(self, state: FormState, today: dt.date) -> list[ReviewItem]:
        """A person's birth date and gender against their ID number (and the sex their role implies), a period's end
        against its start, and dates of past events or of plans against today."""
        items = []
        for id_field in (f for f in state.fields if f.type == "id_number" and f.value and f.valid and f.role):
            info = id_number_info(id_field.value, today)
            if info is None:
                continue
            for f in state.fields:
                if f.role != id_field.role or not f.value or f.source == "derived":
                    continue
                # A certified value is verified: when it disagrees with a typed one, the typed one is to check.
                if f.source == SOURCE_LICENCE and id_field.source == SOURCE_LICENCE:
                    continue
                wrong = f if f.source != SOURCE_LICENCE else id_field
                if f.type == "date" and _has(f.label, self.words.birth_date_labels) and f.value != info.birth_date.isoformat():
                    items.append(_field_item(wrong, f"{f.label}与{id_field.label}里的出生日期不一致，请核对哪一项填错了"))
                elif f.type == "enum" and _has(f.label, self.words.gender_labels) and f.value != info.gender:
                    items.append(_field_item(wrong, f"{f.label}与{id_field.label}显示的性别不一致，请核对"))
            sex = self.words.role_genders.get(id_field.role)
            if sex and info.gender != sex:
                items.append(_field_item(id_field, f"{id_field.label}显示的性别不是{sex}性，请核对是否填反或填错"))
        dates = {f.label: f for f in state.fields if f.type == "date" and f.value and f.valid and _date(f.value)}
        for start, end in self.words.periods:
            for label, first in dates.items():
                last = dates.get(label.replace(start, end)) if start in label else None
                if last is not None and last is not first and _date(last.value) < _date(first.value):
                    items.append(_field_item(last, f"{last.label}早于{first.label}，请核对"))
        for f in state.fields:
            day = _date(f.value) if f.type == "date" and f.value and f.valid else None
            if day and day > today and _has(f.label, self.words.past_date_labels):
                items.append(_field_item(f, f"{f.label}晚于今天，请核对"))
            elif day and day < today and _has(f.label, self.words.planned_date_labels):
                items.append(_field_item(f, f"{f.label}早于今天，已经过了，请重新选择"))
        return items

    def _names(self, state: FormState) -> list[ReviewItem]:
        """A person's name holds letters only: Chinese, or a foreign name in Latin letters with · or spaces."""
        return [_field_item(f, f"{f.label}里不应有数字或符号，请按证件上的姓名填写")
                for f in state.fields if f.type == "text" and f.value and f.valid
                and _has(f.label, self.words.name_labels) and not _NAME.fullmatch(f.value)]

    def _same_person(self, state: FormState, subject_role: str) -> list[ReviewItem]:
        """Two roles that are two people (the 代办人 and the person it is for) given the same ID number."""
        ids: dict[str, FormFieldValue] = {}
        for f in state.fields:
            if f.type == "id_number" and f.value and f.valid and f.role:
                ids.setdefault(f.role, f)
        items = []
        for a, b in self.words.different_people:
            first, second = ids.get(subject_role if a == "subject" else a), ids.get(subject_role if b == "subject" else b)
            if first and second and first is not second and first.value == second.value:
                items.append(_field_item(first, f"{first.label}与{second.label}是同一个人的号码，"
                                                f"两项应分别填写各自的身份证号，请核对"))
        return items

    @staticmethod
    def _declared(check: FormCheck, values: dict[str, FormFieldValue], today: dt.date) -> ReviewItem | None:
        field = values.get(check.field)
        if field is None or not field.value or not field.valid:
            return None  # nothing to check yet: the missing or invalid field is its own item
        if check.kind in ("age", "region"):
            info = id_number_info(field.value, today)
            if info is None:
                return None
            wrong = ((check.min is not None and info.age < check.min) or (check.max is not None and info.age > check.max)
                     if check.kind == "age" else not any(info.region_code.startswith(p) for p in check.prefixes))
        elif check.kind == "not_future":
            wrong = (_date(field.value) or today) > today
        else:
            other = values.get(check.other or "")
            bound = None
            if other is not None and other.value and other.valid:
                info = id_number_info(other.value, today) if other.type == "id_number" else None
                bound = info.birth_date if info else _date(other.value)
            wrong = bound is not None and (_date(field.value) or bound) < bound
        return _field_item(field, check.message) if wrong else None


def _materials(guide: Scenario | MatterGuide, answers: dict[str, str], state: FormState,
               form: Form) -> tuple[list[ReviewItem], list[tuple[Material, str]]]:
    """The 情形 questions still open that change the materials, and the materials of the 情形 chosen (each with
    the 情形 it belongs to when the form cannot say which applies)."""
    if isinstance(guide, Scenario):
        open_questions = {q for m in guide.materials if m.when and condition_holds(m.when, answers) is None
                          for q in m.when if q not in answers}
        items = [ReviewItem(target="situation", key=q.id, label=q.text, message=f"请先选择：{q.text}")
                 for q in guide.questions if q.id in open_questions]
        return items, [(m, "") for m in guide.materials if condition_holds(m.when, answers)]
    titles = {s.title: s for s in guide.situations}
    chosen = next((titles[f.value] for f in state.fields if f.value in titles), None)
    if chosen is None and len(guide.situations) == 1:
        chosen = guide.situations[0]
    if chosen is not None:
        return [], [(m, "") for m in chosen.materials]
    if any(set(f.options) & set(titles) for f in form.fields):
        return [ReviewItem(target="situation", key="situation", label="办理情形",
                           message="请先选择您的办理情形：" + "；".join(titles))], []
    # the form has no place for the 情形: every 情形's materials, those of one 情形 marked with it
    everywhere = set.intersection(*({m.name for m in s.materials} for s in guide.situations))
    found: dict[str, tuple[Material, str]] = {}
    for s in guide.situations:
        for m in s.materials:
            found.setdefault(m.name, (m, "" if m.name in everywhere else s.title))
    return [], list(found.values())


_NAME = re.compile(r"[\u3400-\u9fff·•]{1,20}|[A-Za-z][A-Za-z .'·-]{0,60}")


def _field_item(f: FormFieldValue, message: str) -> ReviewItem:
    return ReviewItem(target="field", key=f.key, label=f.label, message=message)


def _has(label: str, words: list[str]) -> bool:
    return any(w in label for w in words)


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None
