"""A guide's application form (a 一件事's unified form, a matter's own or generic form): the session's draft (kept
in the session state, the assistant's ``drafts``), edited field by field, then submitted once for a receipt."""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets

from fastapi import APIRouter, Depends, Header, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import functools

from agent.forms import validate
from agent.forms.review import PreReview, PreReviewer
from agent.forms.text import masked_value
from agent.forms.vocabulary import load_form_words
from agent.reply import FormFieldValue, FormState
from api.db import SubmissionRow, utcnow
from api.deps import get_runtime, rate_limited, require_database
from api.errors import ApiError
from api.records import departments_json
from api.runtime import Runtime
from api.schemas import ApplicationStatusView, FieldError, FormUpdate, Receipt, ReceiptValue
from api.routers.sessions import SESSION_ERRORS
from api.session_access import check_session
from api.stores import application_status

router = APIRouter(prefix="/v1", tags=["forms"], dependencies=[Depends(rate_limited), Depends(require_database)])
log = logging.getLogger("daoban.api")


def _guide(rt: Runtime, form_id: str):
    """The scenario or matter guide whose form this is."""
    guide = rt.corpus().guide_by_form(form_id)
    if guide is None:
        raise ApiError(404, "form_not_found", f"找不到表单 {form_id}")
    return guide


def _edit(rt: Runtime, guide, session_id: str, edits: dict[str, str | None]) -> FormState:
    known = {f.key for f in guide.application_form.fields}
    unknown = [k for k in edits if k not in known]
    if unknown:
        raise ApiError(422, "unknown_field", f"表单中没有这些项：{'、'.join(unknown)}",
                       errors=[{"key": k, "label": k, "message": "表单中没有此项"} for k in unknown])
    return rt.drafts().edit(session_id, guide, edits)


def field_errors(guide, form: FormState) -> list[FieldError]:
    """Every field checked: required ones filled, every value valid for its type."""
    defs = {f.key: f for f in guide.application_form.fields}
    errors: list[FieldError] = []
    for field in form.fields:
        spec = defs.get(field.key)
        if spec is None:
            continue
        value = (field.value or "").strip()
        if not value:
            if spec.required or field.key in form.missing:
                errors.append(FieldError(key=field.key, label=field.label, message=f"请填写{field.label}"))
            continue
        result = validate(spec.type, value, spec.options)
        if not result.valid:
            errors.append(FieldError(key=field.key, label=field.label, message=result.error or "格式不正确"))
    return errors


@router.get("/forms/{form_id}", response_model=FormState, responses=SESSION_ERRORS,
            summary="The session's draft of a form (blank if none); needs the session's X-Session-Token")
def get_form(form_id: str, session_id: str, request: Request, rt: Runtime = Depends(get_runtime)):
    check_session(rt, request, session_id)
    return rt.drafts().get(session_id, _guide(rt, form_id))


def _submission_of(rt: Runtime, session_id: str, form_id: str) -> SubmissionRow | None:
    """The session's submission of this form: a form is submitted once per session."""
    with rt.db() as s:
        return s.scalars(select(SubmissionRow).where(SubmissionRow.session_id == session_id,
                                                     SubmissionRow.form_id == form_id)).first()


@router.post("/forms/{form_id}", response_model=FormState,
             responses={**SESSION_ERRORS, 409: {"description": "the draft was submitted already"}},
             summary="Update fields of the session's draft (the last write per field wins)")
def update_form(form_id: str, body: FormUpdate, request: Request, rt: Runtime = Depends(get_runtime)):
    check_session(rt, request, body.session_id)
    guide = _guide(rt, form_id)
    with rt.session_locks(body.session_id):  # read, apply, write as one step: concurrent edits all land
        submitted = _submission_of(rt, body.session_id, form_id)
        if submitted is not None:
            raise ApiError(409, "already_submitted", f"该申请已提交（受理编号 {submitted.receipt_no}），不能再修改",
                           receipt_no=submitted.receipt_no)
        return _edit(rt, guide, body.session_id, body.fields)


@functools.cache
def _reviewer() -> PreReviewer:
    return PreReviewer(load_form_words().review)


def pre_review(rt: Runtime, guide, session_id: str, form: FormState) -> PreReview:
    """The application checked as a whole against what the guide declares, with the session's 情形 answers."""
    return _reviewer().review(guide.application_form, form, guide, rt.drafts().answers(session_id))


@router.get("/forms/{form_id}/review", response_model=PreReview, responses=SESSION_ERRORS,
            summary="Pre-review (辅助审核) of the session's draft before it is submitted: pass, or 补正 items tied "
                    "to a field, a 情形 question or a material; needs the session's X-Session-Token")
def review_form(form_id: str, session_id: str, request: Request, rt: Runtime = Depends(get_runtime)):
    check_session(rt, request, session_id)
    guide = _guide(rt, form_id)
    return pre_review(rt, guide, session_id, rt.drafts().get(session_id, guide))


def time_limit_text(guide) -> tuple[int | None, str]:
    tl = guide.time_limit
    promised = tl.parts(promised="{}", legal=None)
    return tl.promised_days, promised[0] if promised else tl.note or "以受理部门告知为准"


def new_receipt_no(now: dt.datetime) -> str:
    return f"YJS{now:%Y%m%d}{secrets.randbelow(10**8):08d}"


def _receipt(rt: Runtime, guide, row: SubmissionRow) -> Receipt:
    promised, limit_text = time_limit_text(guide)
    region = rt.corpus().region_of(guide.region)
    return Receipt(receipt_no=row.receipt_no, submitted_at=row.submitted_at.replace(tzinfo=dt.timezone.utc),
                   scenario_id=row.scenario_id, scenario_title=row.scenario_title, form_id=row.form_id,
                   departments=json.loads(row.departments), promised_days=row.promised_days, time_limit=limit_text,
                   status=row.status, status_lookup=region.status_lookup if region else None,
                   review=stored_review(row), values=_masked_values(rt, guide, row))


def _masked_values(rt: Runtime, guide, row: SubmissionRow) -> list[ReceiptValue]:
    """The stored values as the receipt shows them: masked, so a shared screen or screenshot shows no ID number."""
    values = json.loads(rt.vault.decrypt(row.values_enc))
    return [ReceiptValue(key=f.key, label=f.label, value=masked_value(FormFieldValue(key=f.key, label=f.label,
                                                                                     type=f.type, value=values[f.key])))
            for f in guide.application_form.fields if values.get(f.key)]


def stored_review(row: SubmissionRow) -> PreReview | None:
    """The review kept with a submission (its messages quote no value)."""
    return PreReview.model_validate_json(row.review) if row.review else None


def _earlier_submission(rt: Runtime, session_id: str, form_id: str, key: str | None) -> SubmissionRow | None:
    """The submission a retry (same Idempotency-Key) or a second click (same draft) already made."""
    with rt.db() as s:
        if key:
            row = s.scalars(select(SubmissionRow).where(SubmissionRow.session_id == session_id,
                                                        SubmissionRow.idempotency_key == key)).first()
            if row is not None and row.form_id != form_id:
                raise ApiError(409, "idempotency_key_reused", "该 Idempotency-Key 已用于另一份申请，请换一个")
            if row is not None:
                return row
    return _submission_of(rt, session_id, form_id)


@router.post("/forms/{form_id}/submit", response_model=Receipt,
             responses={**SESSION_ERRORS,
                        422: {"description": "`{code: form_invalid, message, errors: [{key, label, message}]}`"}},
             summary="Validate every field, persist the submission and return the receipt",
             description="Idempotent: a draft is submitted once, and a retry with the same `Idempotency-Key` "
                         "header (or a second click) returns the first receipt.")
def submit_form(form_id: str, body: FormUpdate, request: Request, rt: Runtime = Depends(get_runtime),
                idempotency_key: str | None = Header(default=None, max_length=128)):
    check_session(rt, request, body.session_id)
    guide = _guide(rt, form_id)
    with rt.session_locks(body.session_id):
        earlier = _earlier_submission(rt, body.session_id, form_id, idempotency_key)
        if earlier is not None:
            return _receipt(rt, guide, earlier)
        # an edit is kept as the draft even when the submission is refused: the next try starts from it
        form = _edit(rt, guide, body.session_id, body.fields) if body.fields else \
            rt.drafts().get(body.session_id, guide)
        errors = field_errors(guide, form)
        if errors:
            raise ApiError(422, "form_invalid", f"表单有 {len(errors)} 项需要修改：{'、'.join(e.label for e in errors[:5])}",
                           errors=[e.model_dump() for e in errors])
        review = pre_review(rt, guide, body.session_id, form)
        row = _store_submission(rt, guide, form, body.session_id, idempotency_key, review)
    log.info("form %s submitted: receipt %s, pre-review %s", form_id, row.receipt_no, review.status)
    return _receipt(rt, guide, row)


def _store_submission(rt: Runtime, guide, form: FormState, session_id: str, key: str | None,
                      review: PreReview) -> SubmissionRow:
    """The submission, committed (fsynced: synchronous=FULL) before the receipt is sent."""
    departments = list(dict.fromkeys([guide.lead_department, *guide.departments])) \
        if guide.kind == "scenario" else [guide.department]
    promised, _ = time_limit_text(guide)
    values = {f.key: f.value for f in form.fields if f.value}
    now = utcnow().replace(microsecond=0)
    for _ in range(5):
        row = SubmissionRow(receipt_no=new_receipt_no(now), session_id=session_id, form_id=form.form_id,
                            scenario_id=guide.id, scenario_title=guide.title,
                            departments=departments_json(departments), promised_days=promised, status="已受理",
                            values_enc=rt.vault.encrypt(_json(values)), idempotency_key=key, submitted_at=now,
                            review=review.model_dump_json(), review_status=review.status)
        try:
            with rt.db.begin() as s:
                s.add(row)
            return row
        except IntegrityError:
            continue
    raise ApiError(503, "busy", "暂时无法生成受理编号，请重试")  # pragma: no cover - 10^8 numbers a day


def _json(values: dict) -> str:
    return json.dumps(values, ensure_ascii=False)


@router.get("/submissions/{receipt_no}", response_model=ApplicationStatusView,
            summary="Progress of a submitted application, by receipt number")
def submission_status(receipt_no: str, rt: Runtime = Depends(get_runtime)):
    with rt.db() as s:
        row = s.scalars(select(SubmissionRow).where(SubmissionRow.receipt_no == receipt_no.strip().upper())).first()
        if row is None:
            raise ApiError(404, "receipt_not_found", f"找不到受理编号 {receipt_no} 的办件")
        return application_status(row)
