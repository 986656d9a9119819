"""免填写 and 免提交 from a verified identity and electronic licences (电子证照).

A city plugs in its own platform by implementing the two protocols: ``IdentityProvider`` turns the portal's
real-name login assertion into a ``VerifiedIdentity``; ``LicenceProvider`` lists the licences that identity may
use. Which licence certifies which value, and which form field holds it, is data (agent/data/licences.yaml), shared
by every form. The verified person's own values fill their own fields (the applicant, agent or legal representative,
and the subject when they apply for themselves); a value a licence names for someone else (the child on the
出生医学证明) fills that person's fields; a member of the speaker's household (居民户口簿) fills the fields of the person
the form names by that member's name or ID number, never someone outside the household. All with source
``e_license``; nothing is looked up by a number someone typed.

``DemoLicences`` is both, over a file of sample records signed with HMAC-SHA256: a record or assertion whose
signature does not verify is ignored. It is off unless a key is configured."""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, ValidationError

from agent.forms.licence_map import HOLDER, licence_map
from agent.reply import FieldConflict, FormFieldValue, FormState
from corpus.schema import APPLIES_FOR, Form

SOURCE_LICENCE = "e_license"
# A value the holder saved in their account (常用地址, licences.yaml `declared`): theirs to check, not certified.
SOURCE_ACCOUNT = "account"
PLATFORM_SOURCES = frozenset({SOURCE_LICENCE, SOURCE_ACCOUNT})
# Roles the verified speaker fills whoever the application is for; the subject's too only when it is for themselves.
_SPEAKER_ROLES = frozenset({"applicant", "legal_rep", "company"})


class VerifiedIdentity(BaseModel):
    id_number: str
    name: str
    provider: str = "demo"
    # The login nonce the session asked the portal to sign into the assertion (as OpenID Connect's nonce): an
    # assertion is accepted once, by the session that asked for it.
    nonce: str | None = None


class Licence(BaseModel):
    """One electronic licence: its kind (居民身份证, 营业执照...) and the values it certifies, keyed by what they
    are: name, id_number, address, gender, birth_date, company_name, uscc."""

    licence: str
    holder_id: str
    values: dict[str, str]
    # The 户号 of a household licence (居民户口簿): one record per member, so the members' records share it.
    household: str | None = None


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

    def __init__(self, key: bytes | str, records: Path | str):
        self.key = key.encode() if isinstance(key, str) else key
        self._by_holder: dict[str, list[Licence]] = {}
        for item in json.loads(Path(records).read_text(encoding="utf-8")):
            try:
                signed = _Signed.model_validate(item)
                licence = Licence.model_validate(signed.record)
            except ValidationError:
                continue
            if hmac.compare_digest(sign(self.key, signed.record), signed.signature):
                self._by_holder.setdefault(licence.holder_id, []).append(licence)

    def assertion(self, identity: VerifiedIdentity, ttl_s: int = 600, now: float | None = None,
                  nonce: str | None = None) -> str:
        """What the portal sends after its real-name login (here for tests and the demo page)."""
        payload = {**identity.model_dump(exclude_none=True), "exp": int((now or dt.datetime.now().timestamp()) + ttl_s)}
        if nonce is not None:
            payload["nonce"] = nonce
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

    def people(self) -> list[VerifiedIdentity]:
        """The demo's sample people (whom the demo login can sign in as)."""
        out = []
        for holder, licences in self._by_holder.items():
            name = next((lc.values["name"] for lc in licences if lc.values.get("name") and "uscc" not in lc.values), None)
            if name:
                out.append(VerifiedIdentity(id_number=holder, name=name))
        return out


def speaker_roles(form: Form, state: FormState) -> tuple[frozenset[str], bool]:
    """The roles whose fields hold the verified speaker's values, and whether the application is for someone else.

    A form that asks 办理方式 says it: 代他人办理 makes the speaker the 代办人 (agent), never the subject; 本人办理, or
    nothing chosen yet, makes them the subject (their own fields, not a 代办人's). A form that does not ask fills the
    agent fields with the speaker, and the subject's only on a form a person fills for themselves (not a newborn's
    or a deceased's) where a 代办人 was not named in the conversation."""
    values = {f.key: f for f in state.fields}
    choice = next((f for f in form.fields if f.key == APPLIES_FOR and f.type == "enum" and len(f.options) == 2), None)
    own_form = state.subject_role in ("subject", "applicant")
    if choice is not None:
        chosen = values.get(APPLIES_FOR)
        for_other = chosen is not None and chosen.value == choice.options[1]
        roles = _SPEAKER_ROLES | ({"agent"} if for_other else {"subject"} if own_form else set())
    else:
        named_agent = any(f.value and f.source not in (None, *PLATFORM_SOURCES) for f in state.fields
                          if f.role == "agent")
        for_other = named_agent or not own_form
        roles = _SPEAKER_ROLES | {"agent"} | ({"subject"} if not for_other else set())
    if for_other:
        roles = roles - {state.subject_role}  # 帮我爸办退休: the applicant is the father, not the speaker
    return frozenset(roles), for_other


def _names_someone_else(state: FormState, holder_id: str | None) -> bool:
    """The subject's fields hold another person's ID number than the verified speaker's, and nobody chose on the
    form for whom: the speaker is not the subject."""
    if holder_id is None:
        return False
    # 本人办理 the filler took as the default (source derived) is no choice
    chosen = next((f for f in state.fields if f.key == APPLIES_FOR and f.value and f.source != "derived"), None)
    if chosen is not None:
        return False
    # a certified value counts too (a household member's number, once filled, keeps the subject theirs); one the
    # user typed over the speaker's own is theirs to explain, and the pre-review flags it
    said = [f for f in state.fields if f.role == state.subject_role and f.value and f.valid
            and f.source not in ("derived", "user")]
    # by the number only: a name that differs may be the speaker's own misheard (我叫周明原 is still them, and the
    # licence's name is filled with the difference reported)
    return any(f.value != holder_id for f in said if f.type == "id_number")


def _with_guardian(state: FormState, roles: frozenset[str], for_other: bool) -> frozenset[str]:
    """For someone else on a form that names a 监护人 and no 代办人, the speaker is the guardian."""
    held = {f.role for f in state.fields}
    if not for_other or "agent" in held or state.subject_role == "guardian" or "guardian" not in held:
        return roles
    return roles | {"guardian"}


Candidates = dict[tuple[str, str], list[tuple[str, str]]]
"""(role, item) -> [(value, licence name)], the first the most specific."""


def _put(out: Candidates, lmap, lc: Licence, role_of, own_application: bool = True) -> None:
    """Each value of ``lc`` under the roles ``role_of(person)`` gives it."""
    spec = lmap.spec(lc.licence)
    if spec is None or (spec.kin_of_holder and not own_application):
        return
    for key, value in lc.values.items():
        certified = spec.values.get(key)
        if certified is None or not value:
            continue
        for role in role_of(certified.person):
            out.setdefault((role, certified.item), []).append((value, lc.licence))


def _said(state: FormState, role: str, kind: str, lmap) -> list[str]:
    """What the form holds for ``role``'s name or ID number: the conversation's values first."""
    fields = [f for f in state.fields if f.role == role and f.value and f.valid
              and (f.type == "id_number" if kind == "id_number" else
                   (m := lmap.item_of(f.key, f.label, f.type)) is not None and m[0] == "name")]
    return [f.value for f in sorted(fields, key=lambda f: f.source in PLATFORM_SOURCES)]


def _member(state: FormState, role: str, members: list[Licence], lmap) -> Licence | None:
    """The household member the form names in ``role``'s fields: by the ID number when one is given, else by
    the name, and only when exactly one member has it."""
    ids = _said(state, role, "id_number", lmap)
    key, wanted = ("id_number", ids[0]) if ids else ("name", (_said(state, role, "name", lmap) or [None])[0])
    if wanted is None:
        return None
    found = {m.holder_id: m for m in members if m.values.get(key) == wanted}
    return next(iter(found.values())) if len(found) == 1 else None


def certified_values(form: Form, state: FormState, licences: list[Licence], holder_id: str | None,
                     roles: frozenset[str], for_other: bool) -> Candidates:
    """Every certified value by the role whose it is and what it is (licences.yaml). The verified person's own
    values go to the roles the speaker holds; values a licence names for someone else (the child on the 出生医学证明)
    to that role; a member of the speaker's household (居民户口簿) to the role on the form whose name or ID number
    is theirs; a consented licence of the subject to the subject, when their ID number is on the form."""
    lmap = licence_map()
    own = [lc for lc in licences if holder_id is None or lc.holder_id == holder_id]
    person_roles = sorted(roles - {"company"})
    out: Candidates = {}
    gender = next((lc.values["gender"] for lc in own if lc.values.get("gender")), None)
    for lc in own:  # a person the licence names: more specific than its holder's values
        gendered = (s.gendered if (s := lmap.spec(lc.licence)) else {})
        _put(out, lmap, lc, lambda person, g=gendered: [] if person == HOLDER else
             [person] + ([g[person][gender]] if gender in g.get(person, {}) else []), not for_other)
    if not for_other and gender in lmap.gendered_roles:  # 男方/女方 of their own marriage registration
        person_roles = sorted({*person_roles, lmap.gendered_roles[gender]})
    for lc in own:
        _put(out, lmap, lc, lambda person: person_roles if person == HOLDER else [])
    others = [lc for lc in licences if holder_id is not None and lc.holder_id != holder_id]
    households = {lc.household for lc in own if lc.household and (s := lmap.spec(lc.licence)) and s.household}
    members = [lc for lc in others if lc.household in households and (s := lmap.spec(lc.licence)) and s.household]
    form_roles = {f.role for f in state.fields if f.role} | {state.subject_role}
    for role in sorted(form_roles - roles - {"company"}):
        member = _member(state, role, members, lmap)
        if member is not None:
            _put(out, lmap, member, lambda person, r=role: [r] if person == HOLDER else [])
    subject_id = next((f.value for f in state.fields if f.role == state.subject_role and f.type == "id_number"
                       and f.value and f.valid), None)
    if for_other and subject_id:
        for lc in others:
            if lc.holder_id == subject_id and lc not in members:
                _put(out, lmap, lc, lambda person: [state.subject_role] if person == HOLDER else [])
    return out


def _certified(spec, field: FormFieldValue, state: FormState, values: Candidates,
               roles: frozenset[str]) -> tuple[str, str] | None:
    """The certified (value, licence) for this field: what it holds (licences.yaml items) for whose it is; a field
    without a role holds the subject's value (a person's name or number only when the form says a licence fills
    it); the licence the form names for the field first."""
    lmap = licence_map()
    match = lmap.item_of(field.key, field.label, field.type)
    if match is None:
        return None
    item_name, item = match
    role = field.role
    if role is None and item.person and not spec.e_license:
        return None
    wanted = [role] if role else [state.subject_role] + (["company"] if state.subject_role in roles else [])
    found = [c for r in wanted for c in values.get((r, item_name), [])]
    if spec.type == "enum":
        found = [c for c in found if c[0] in spec.options]
    if spec.e_license:
        named = set(lmap.names_of(spec.e_license))
        found = sorted(found, key=lambda c: not (c[1] in named or lmap.kind(c[1]) in named))
    return found[0] if found else None


def fill_from_licences(form: Form, state: FormState, licences: list[Licence],
                       holder_id: str | None = None) -> FormState:
    """Fill the fields the licences certify (免填写), marked with source ``e_license`` and the licence.

    The certified value wins over one read from the conversation, and a different conversation value is reported
    in ``conflicts``. A value the user typed (source ``user``) or a field they took over (``licence_declined``)
    stays. ``holder_id``: the verified person, whose own values fill the roles they hold (``speaker_roles``);
    another person's values fill another role only as ``certified_values`` says. A certified value whose role the
    speaker no longer holds (本人办理 changed to 代他人办理) is taken out again. A value the holder saved in their
    account (``declared`` in licences.yaml) fills an empty field only, with source ``account``."""
    lmap = licence_map()
    declared = {f.key: f for f in form.fields}
    roles, for_other = speaker_roles(form, state)
    if not for_other and _names_someone_else(state, holder_id):
        # 我爸叫…身份证… on a form that does not ask for whom: the subject is the person the conversation named
        roles, for_other = frozenset(roles - {state.subject_role, "subject"} | {"agent"}), True
    roles = _with_guardian(state, roles, for_other)
    values = certified_values(form, state, licences, holder_id, roles, for_other)
    conflicts = {c.key: c for c in state.conflicts}
    fields = []
    for field in state.fields:
        spec = declared.get(field.key)
        if spec is None or field.source == "user" or field.key in state.licence_declined:
            fields.append(field)
            continue
        found = _certified(spec, field, state, values, roles)
        if found and lmap.declared(found[1]):
            # the holder's own saved value: only where nothing else is, and never reported as a conflict
            if not field.value or field.source in PLATFORM_SOURCES:
                field = field.model_copy(update={"value": found[0], "source": SOURCE_ACCOUNT, "licence": found[1],
                                                 "valid": True, "error": None})
        elif found:
            value, licence = found
            if field.value and field.source != SOURCE_LICENCE and field.value != value:
                conflicts[field.key] = FieldConflict(
                    key=field.key, label=field.label, said=field.value,
                    message=f"您在对话中提供的{field.label}与{licence}不一致，已按{licence}填写；如证照信息有误，请直接修改")
            field = field.model_copy(update={"value": value, "source": SOURCE_LICENCE, "licence": licence,
                                             "valid": True, "error": None})
        elif field.source in PLATFORM_SOURCES:
            field = field.model_copy(update={"value": None, "source": None, "licence": None})
        fields.append(field)
    certified = {f.key for f in fields if f.source == SOURCE_LICENCE}
    filled = {f.key for f in fields if f.source in PLATFORM_SOURCES and f.value}
    missing = [k for k in state.missing if k not in filled]
    missing += [f.key for f in fields if f.required and not f.value and f.key not in missing]
    return state.model_copy(update={
        "fields": fields, "missing": missing,
        "conflicts": [c for k, c in conflicts.items() if k in certified]})


def covered_materials(form: Form, state: FormState, materials: list[str],
                      handed_in: list[str] | None = None) -> list[str]:
    """The materials (by name) an electronic licence behind a certified field covers (免提交): the form declares
    which licence can fill a field (``e_license``), and a material naming that licence need not be brought, unless
    it is the card itself, handed in (``handed_in`` prefixes, form_words.yaml: 原居民身份证)."""
    values = {f.key: f for f in state.fields}
    used = {spec.e_license for spec in form.fields if spec.e_license and spec.key in values
            and values[spec.key].source == SOURCE_LICENCE and values[spec.key].valid}
    # and the licence that filled a field (出生医学证明 behind 出生医院)
    used |= {f.licence for f in state.fields if f.source == SOURCE_LICENCE and f.valid and f.licence}
    groups = [tuple(licence_map().names_of(kind)) for kind in used]  # each licence by its every name
    prefixes = _handed_in() if handed_in is None else handed_in
    return [m for m in materials
            if any(any(n in m for n in names) and not any(p + n in m for p in prefixes for n in names)
                   for names in groups)]


@functools.cache
def _handed_in() -> tuple[str, ...]:
    from agent.forms.vocabulary import load_form_words

    return tuple(load_form_words().review.handed_in_prefixes)


def decline(state: FormState, keys: list[str]) -> FormState:
    """The user edited or cleared these fields: theirs from now on, their licence mark and conflict gone."""
    taken = [k for k in keys if k not in state.licence_declined]
    return state.model_copy(update={"licence_declined": state.licence_declined + taken,
                                    "conflicts": [c for c in state.conflicts if c.key not in keys]})


class HeldLicences(BaseModel):
    """A session's verified identity and the licences it may use, kept in the session's encrypted state and erased
    with it."""

    identity: VerifiedIdentity
    licences: list[Licence]
    verified_at: float


def guide_materials(guide) -> list[str]:
    """Every material name of a guide: a 一件事's 一套材料, or a matter's across its 情形."""
    names = [m.name for m in getattr(guide, "materials", None) or []]
    for situation in getattr(guide, "situations", None) or []:
        names += [m.name for m in situation.materials]
    return list(dict.fromkeys(names))


def apply_licences(guide, state: FormState, held: HeldLicences | None,
                   previous: FormState | None = None) -> FormState:
    """The draft of ``guide``'s form with the session's licences applied: certified fields filled and marked, the
    materials they cover listed as 免提交. ``previous``: the draft before a refill (what the user took over from
    the licences and the conflicts reported stay)."""
    if previous is not None:
        state = state.model_copy(update={"licence_declined": previous.licence_declined,
                                         "conflicts": previous.conflicts})
    if held is None:
        return state
    form = guide.application_form
    state = fill_from_licences(form, state, held.licences, held.identity.id_number)
    return state.model_copy(update={"exempt_materials": covered_materials(form, state, guide_materials(guide))})


def load_provider(settings) -> "DemoLicences | object | None":
    """The configured platform (``settings.licences.provider``): None for ``none``, the demo records for ``demo``,
    else the city's ``package.module:Class`` built with ``options``. It must verify assertions and list licences."""
    import importlib

    conf = settings.licences
    if conf.provider == "none":
        return None
    licence_map()  # a broken agent/data/licences.yaml fails here, at start-up, not inside a form's refill
    if conf.provider == "demo":
        return DemoLicences(conf.demo_key.encode(), conf.demo_records)
    module, _, name = conf.provider.partition(":")
    provider = getattr(importlib.import_module(module), name)(**conf.options)
    missing = [m for m in ("verify", "licences") if not callable(getattr(provider, m, None))]
    if missing:
        raise TypeError(f"licences.provider {conf.provider} has no {' / '.join(missing)} method")
    return provider


def mask_certified(form: FormState) -> FormState:
    """The draft as someone other than the verified person sees it (a hotline agent): the platform's values
    (certified or saved in the account) masked, since they tell who signed in."""
    from agent.forms.text import masked_value

    return form.model_copy(update={"fields": [
        f.model_copy(update={"value": masked_value(f)}) if f.source in PLATFORM_SOURCES and f.value else f
        for f in form.fields]})
