"""免填写 and 免提交 from a verified identity and electronic licences (电子证照).

A city plugs in its own platform by implementing the two protocols: ``IdentityProvider`` turns the portal's
real-name login assertion into a ``VerifiedIdentity``; ``LicenceProvider`` lists the licences that identity may
use. Only the verified person's own fields (the applicant, agent or legal representative, and the subject when
they apply for themselves) are filled, with source ``e_license``; nothing is looked up by a number someone typed.

``DemoLicences`` is both, over a file of sample records signed with HMAC-SHA256: a record or assertion whose
signature does not verify is ignored. It is off unless a key is configured."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, ValidationError

from agent.reply import FormFieldValue, FormState
from corpus.schema import Form

SOURCE_LICENCE = "e_license"
# Roles the verified speaker fills; the subject too when nobody else is named as the one applying for them.
_SPEAKER_ROLES = frozenset({"applicant", "agent", "legal_rep", "company"})


class VerifiedIdentity(BaseModel):
    id_number: str
    name: str
    provider: str = "demo"


class Licence(BaseModel):
    """One electronic licence: its kind (居民身份证, 营业执照...) and the values it certifies, keyed by what they
    are: name, id_number, address, gender, birth_date, company_name, uscc."""

    licence: str
    holder_id: str
    values: dict[str, str]


class IdentityProvider(Protocol):
    def verify(self, assertion: str) -> VerifiedIdentity | None: ...


class LicenceProvider(Protocol):
    def licences(self, identity: VerifiedIdentity) -> list[Licence]: ...


class _Signed(BaseModel):
    record: dict
    signature: str = Field(pattern=r"^[0-9a-f]{64}$")


def sign(key: bytes, payload: dict) -> str:
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


class DemoLicences:
    """The demo platform: signed sample licences in a JSON file, and portal assertions signed with the same key
    (``base64url(json).hex_signature``, with an ``exp`` Unix time)."""

    def __init__(self, key: bytes, records: Path | str):
        self.key = key
        self._by_holder: dict[str, list[Licence]] = {}
        for item in json.loads(Path(records).read_text(encoding="utf-8")):
            try:
                signed = _Signed.model_validate(item)
                licence = Licence.model_validate(signed.record)
            except ValidationError:
                continue
            if hmac.compare_digest(sign(key, signed.record), signed.signature):
                self._by_holder.setdefault(licence.holder_id, []).append(licence)

    def assertion(self, identity: VerifiedIdentity, ttl_s: int = 600, now: float | None = None) -> str:
        """What the portal sends after its real-name login (here for tests and the demo page)."""
        payload = {**identity.model_dump(), "exp": int((now or dt.datetime.now().timestamp()) + ttl_s)}
        body = base64.urlsafe_b64encode(json.dumps(payload, ensure_ascii=False).encode()).decode().rstrip("=")
        return f"{body}.{sign(self.key, payload)}"

    def verify(self, assertion: str, now: float | None = None) -> VerifiedIdentity | None:
        body, _, signature = (assertion or "").partition(".")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            identity = VerifiedIdentity.model_validate({k: v for k, v in payload.items() if k != "exp"})
        except (ValueError, ValidationError):
            return None
        if not hmac.compare_digest(sign(self.key, payload), signature):
            return None
        if payload.get("exp", 0) < (now or dt.datetime.now().timestamp()):
            return None
        return identity

    def licences(self, identity: VerifiedIdentity) -> list[Licence]:
        return list(self._by_holder.get(identity.id_number, []))


def _certified(field: FormFieldValue, licence: Licence) -> str | None:
    """The licence's value for this field: by the field's type, or for text fields by what its key names."""
    by_type = {"id_number": "id_number", "address": "address", "uscc": "uscc", "date": "birth_date"}
    if field.type in by_type:
        return licence.values.get(by_type[field.type])
    if field.type == "enum" and field.key.endswith("gender"):
        return licence.values.get("gender")
    if field.key == "company_name" or field.key.endswith("company_name"):
        return licence.values.get("company_name")
    if field.key == "name" or field.key.endswith("_name"):
        return licence.values.get("name")
    return None


def fill_from_licences(form: Form, state: FormState, licences: list[Licence]) -> FormState:
    """Fill the verified person's licence fields (免填写). A value the user typed into the form stays; a value
    read from the conversation gives way to the certified one."""
    if not licences:
        return state
    declared = {f.key: f for f in form.fields}
    acting_for_other = any(f.value for f in state.fields if f.role == "agent")
    # The subject is the speaker only on a form a person fills for themselves (not a newborn's, a deceased's).
    own_subject = state.subject_role in ("subject", "applicant") and not acting_for_other
    roles = _SPEAKER_ROLES | ({"subject"} if own_subject else set())
    fields = []
    for field in state.fields:
        spec = declared.get(field.key)
        value = None
        if spec is not None and field.role in roles and field.source != "user":
            # The licence the field names, else any of the person's (a name is on the 居民身份证); a company's
            # fields come from its own licence (营业执照), a person's from theirs.
            own = [lc for lc in licences if ("uscc" in lc.values) == (field.role == "company")]
            named = [lc for lc in own if lc.licence == spec.e_license] if spec.e_license else own
            value = next((v for lc in named if (v := _certified(field, lc))), None)
        if value and (field.type != "date" or field.key.endswith("birth_date")):
            field = field.model_copy(update={"value": value, "source": SOURCE_LICENCE, "valid": True, "error": None})
        fields.append(field)
    missing = [k for k in state.missing if not any(f.key == k and f.source == SOURCE_LICENCE for f in fields)]
    return state.model_copy(update={"fields": fields, "missing": missing})
