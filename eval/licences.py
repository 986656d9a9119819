"""``daoban eval run --licences household``: each application played as a logged-in citizen.

For each apply case the harness builds a synthetic city platform (a ``LicenceProvider`` and ``IdentityProvider``)
holding the electronic licences of the case's speaker and household, and the address the speaker saved in their
account (常用地址, unverified: it fills only an empty field): names, ID numbers and phones from the case's
declared people where given, every other value synthetic but well-formed (eval/data/household.yaml), all picked
deterministically from the case id. After the conversation, the citizen signs in the way the widget's
用电子证照填写 does: the session asks for a login nonce, the platform signs an assertion for it, the session verifies
it and keeps the licences (``SessionIdentities``), and the open draft is refilled (``FormDrafts.edit``). The
conversation-only figures (slots, resolution, prefill) are scored on the reply before the sign-in and are not
changed; the prefill with licences and the conflicts the licences reported are counted apart.

Who is in the household: the speaker, and the person the application is for when the speaker is their parent,
child, spouse or guardian (a 代办人 or another relative lives elsewhere). Which licences the household holds follows
the expected service's form: a 死亡医学证明 when it has a deceased's fields, a 出生医学证明 when it has a newborn's
birth fields, a 营业执照 when it has a company's."""
from __future__ import annotations

import functools
import hashlib
import random
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from agent.forms.identity import SessionIdentities
from agent.forms.licences import SOURCE_LICENCE, DemoLicences, Licence, VerifiedIdentity
from agent.forms.licence_map import licence_map
from corpus.datafile import load_data_file
from eval.cases import Case
from eval.scoring import titles_match

DATA = Path(__file__).resolve().parent / "data" / "household.yaml"
# The speaker's relation to the subject when the subject lives in the speaker's 户.
HOUSEHOLD_RELATIONS = frozenset({"mother", "father", "child", "spouse", "guardian"})


class HouseholdWords(BaseModel):
    model_config = ConfigDict(extra="forbid")
    surnames: list[str] = Field(min_length=1)
    given: list[str] = Field(min_length=1)
    regions: list[str] = Field(min_length=1)
    streets: list[str] = Field(min_length=1)
    ethnicities: list[str] = Field(min_length=1)
    hospitals: list[str] = Field(min_length=1)
    banks: list[str] = Field(min_length=1)
    schools: list[str] = Field(min_length=1)
    majors: list[str] = Field(min_length=1)
    education: list[str] = Field(min_length=1)
    companies: list[str] = Field(min_length=1)


@functools.cache
def household_words() -> HouseholdWords:
    return load_data_file(DATA, HouseholdWords)


def id_number(region: str, birth: str, seq: int) -> str:
    """An 18-digit ID with the GB 11643-1999 check digit; ``seq`` odd for a man."""
    body = f"{region}{birth}{seq:03d}"
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body))
    return body + "10X98765432"[total % 11]


def uscc(rng: random.Random) -> str:
    """A unified social credit code with its GB 32100-2015 check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + "370102" + "".join(rng.choice(alphabet) for _ in range(9))
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(alphabet.index(c) * w for c, w in zip(body, weights))
    return body + alphabet[(31 - total % 31) % 31]


def bank_card(rng: random.Random) -> str:
    """A 19-digit bank card number (a 社会保障卡's 金融账户) with its Luhn check digit."""
    body = "621" + "".join(str(rng.randint(0, 9)) for _ in range(15))
    total = sum(sum(divmod(int(d) * (2 if i % 2 == 0 else 1), 10)) for i, d in enumerate(reversed(body)))
    return body + str(-total % 10)


class Person(BaseModel):
    name: str
    id_number: str
    phone: str


class Household(BaseModel):
    """What the synthetic platform knows for one case."""

    speaker: Person
    subject: Person | None = None
    subject_in_household: bool = False
    licences: list[Licence]


def _person(rng: random.Random, words: HouseholdWords, said, born: tuple[int, int], male: bool | None = None) -> Person:
    said = said.model_dump(exclude_none=True) if said is not None else {}
    year = rng.randint(*born)
    birth = f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    seq = rng.randrange(1, 999, 2) if male is not False else rng.randrange(2, 999, 2)
    return Person(name=said.get("name") or rng.choice(words.surnames) + rng.choice(words.given),
                  id_number=said.get("id_number") or id_number(rng.choice(words.regions), birth, seq),
                  phone=said.get("phone") or "1" + rng.choice("3578") + "".join(str(rng.randint(0, 9)) for _ in range(9)))


def _about(person: Person) -> dict[str, str]:
    """What the 居民身份证 and the 户口簿 page say of a person beyond name and number: read from the number."""
    n = person.id_number
    birth = f"{n[6:10]}-{n[10:12]}-{n[12:14]}" if len(n) == 18 and n[6:14].isdigit() else ""
    gender = ("男" if int(n[16]) % 2 else "女") if len(n) == 18 and n[16].isdigit() else ""
    return {k: v for k, v in {"birth_date": birth, "gender": gender}.items() if v}


def _form_roles(case: Case, corpus) -> set[str]:
    """The roles and item kinds the expected service's form names, or for a matter without a form of its own the
    forms of its 一件事: which licences the household holds (a death certificate for a death's services)."""
    if corpus is None or not case.expect.target:
        return set()
    guides = [g for g in (*corpus.scenarios.values(), *corpus.matters.values())
              if titles_match(g.title, case.expect.target)]
    for guide in list(guides):  # a matter without its own form is applied for on its 一件事's (一表申请)
        if guide.kind == "matter" and guide.form is None:
            guides += [sc for sc in corpus.scenarios.values() if any(m.matter == guide.id for m in sc.members)]
    lmap = licence_map()
    out = set()
    for guide in guides:
        form = guide.application_form
        out.add(form.subject_role)
        for f in form.fields:
            out.add(f.role or "")
            item = lmap.item_of(f.key, f.label, f.type)
            if item:
                out.add("item:" + item[0])
    return out


def household_for(case: Case, corpus=None) -> Household:
    """The case's household and its licences, the same every run."""
    words = household_words()
    rng = random.Random(hashlib.sha256(case.id.encode()).hexdigest())
    people = case.expect.people
    relation = case.expect.relation
    speaker = _person(rng, words, people.get("speaker"), (1965, 1995))
    subject = None
    if relation is not None:
        born = {"child": (1940, 1960), "mother": (2015, 2025), "father": (2015, 2025)}.get(relation, (1950, 2000))
        subject = _person(rng, words, people.get("subject"), born)
    roles = _form_roles(case, corpus)
    newborn = "item:birth_hospital" in roles
    # a newborn is not on the 户口簿 yet: registering them is what the application does
    in_household = subject is not None and relation in HOUSEHOLD_RELATIONS and not newborn
    household = f"HH{rng.randrange(10**8):08d}"
    address = f"{rng.choice(words.streets)}{rng.randint(1, 300)}号"
    ethnicity = rng.choice(words.ethnicities)
    married = "已婚" if relation in ("spouse", "mother", "father") or rng.random() < 0.6 else "未婚"
    sid = speaker.id_number
    about = _about(speaker)

    def lc(kind: str, values: dict[str, str], holder: str = sid, household_id: str | None = None) -> Licence:
        return Licence(licence=kind, holder_id=holder, values={k: v for k, v in values.items() if v},
                       household=household_id)

    # where the speaker lives now, as saved in their account (常用地址); often not their 户籍 address. Its own
    # generator, so that the other values stay what they were before accounts held one.
    own = random.Random(hashlib.sha256(f"{case.id}:account".encode()).hexdigest())
    lives_at = f"{own.choice(words.streets)}{own.randint(1, 300)}号{own.randint(1, 6)}单元{own.randint(1, 30)}0{own.randint(1, 4)}室"
    licences = [
        lc("统一身份认证账户", {"phone": speaker.phone}),
        lc("账户常用信息", {"address": lives_at}),
        lc("居民身份证", {"name": speaker.name, "id_number": sid, **about, "ethnicity": ethnicity,
                          "address": address}),
        lc("居民户口簿", {"name": speaker.name, "id_number": sid, **about, "ethnicity": ethnicity,
                          "marital_status": married, "address": address}, household_id=household),
        lc("社会保障卡", {"card_number": f"{rng.choice('ABCDEFGHJK')}{rng.randrange(10**8):08d}",
                          "bank_name": rng.choice(words.banks), "financial_account": bank_card(rng)}),
        lc("学历证书", {"school": rng.choice(words.schools), "major": rng.choice(words.majors),
                        "graduation_date": f"{int(sid[6:10]) + 22 if sid[6:10].isdigit() else 2010}-07-01",
                        "education_level": rng.choice(words.education)}),
        lc("不动产权证书", {"certificate_number": f"鲁（{rng.randint(2015, 2025)}）济南市不动产权第{rng.randrange(10**7):07d}号",
                            "location": address, "area": f"{rng.randint(45, 160)}.{rng.randint(0, 99):02d}"}),
    ]
    if in_household:
        member_married = "已婚" if relation in ("spouse", "child") else "未婚"
        licences.append(lc("居民户口簿", {"name": subject.name, "id_number": subject.id_number, **_about(subject),
                                          "ethnicity": ethnicity, "marital_status": member_married, "address": address},
                           holder=subject.id_number, household_id=household))
    if relation == "spouse" or "item:marriage_cert_number" in roles:
        spouse = subject if relation == "spouse" else _person(rng, words, None, (1965, 1995),
                                                               male=about.get("gender") == "女")
        licences.append(lc("结婚证", {"name": speaker.name, "id_number": sid,
                                      "certificate_number": f"J{sid[:6]}-{rng.randint(2000, 2024)}-{rng.randrange(10**6):06d}",
                                      "spouse_name": spouse.name, "spouse_id_number": spouse.id_number}))
    if "deceased" in roles and subject is not None:
        licences.append(lc("死亡医学证明", {"deceased_name": subject.name, "deceased_id_number": subject.id_number,
                                            "death_date": "2026-11-28", "death_place": rng.choice(words.hospitals)}))
    if newborn:
        other = _person(rng, words, None, (1985, 1998), male=relation != "father")
        parents = {"mother": speaker, "father": other} if relation == "mother" else {"mother": other, "father": speaker}
        child = subject or _person(rng, words, None, (2026, 2026))
        born = _about(child) if people.get("subject") and people["subject"].id_number else {}
        licences.append(lc("出生医学证明", {
            "child_name": child.name, "child_gender": born.get("gender") or rng.choice("男女"),
            "child_birth_date": born.get("birth_date") or "2026-11-20",
            "birth_hospital": rng.choice(words.hospitals),
            "mother_name": parents["mother"].name, "mother_id_number": parents["mother"].id_number,
            "father_name": parents["father"].name, "father_id_number": parents["father"].id_number}))
    if "company" in roles or "legal_rep" in roles:
        licences.append(lc("营业执照", {"company_name": address[:3] + rng.choice(words.companies), "uscc": uscc(rng),
                                        "address": address, "name": speaker.name}))
    return Household(speaker=speaker, subject=subject, subject_in_household=in_household, licences=licences)


class CityPlatform(DemoLicences):
    """The synthetic platform of one case: the demo platform's signed assertions over in-memory records. A
    household licence of the speaker comes with the other members' pages (常住人口登记卡) of the same 户."""

    def __init__(self, household: Household, key: bytes):
        self.key = key
        self._by_holder = {}
        for licence in household.licences:
            self._by_holder.setdefault(licence.holder_id, []).append(licence)
        self.household = household

    def licences(self, identity: VerifiedIdentity) -> list[Licence]:
        own = list(self._by_holder.get(identity.id_number, []))
        households = {lc.household for lc in own if lc.household}
        members = [lc for holder, records in self._by_holder.items() if holder != identity.id_number
                   for lc in records if lc.household and lc.household in households]
        return own + members


class LicencePrefill(BaseModel):
    required: int
    prefilled: int
    certified: int
    conflicts: list[str] = Field(default_factory=list, description="labels whose conversation value a licence contradicted")
    missing: list[str] = Field(default_factory=list, description="keys of the required fields still without a valid value")


def sign_in_and_refill(assistant, case: Case, session_id: str) -> LicencePrefill | None:
    """Sign the case's speaker in on the session (nonce, signed assertion, verified, licences kept) and refill the
    open draft the way the API's POST /v1/sessions/{id}/identity does; None when no form is open."""
    state = assistant.sessions.load(session_id)
    if state is None or state.form is None:
        return None
    guide = assistant.corpus.guide_by_form(state.form.form_id)
    if guide is None:
        return None
    household = household_for(case, assistant.corpus)
    platform = CityPlatform(household, key=hashlib.sha256(("eval-platform:" + case.id).encode()).digest())
    identities = SessionIdentities(assistant.sessions, assistant.drafts.lock_for, platform)
    nonce = identities.challenge(session_id)
    who = VerifiedIdentity(id_number=household.speaker.id_number, name=household.speaker.name, provider="eval")
    identities.attach(session_id, platform.assertion(who, nonce=nonce.value))
    form = assistant.drafts.edit(session_id, guide, {})
    required = [f for f in form.fields if f.required]
    missing = [f.key for f in required if not (f.value and f.valid)]
    return LicencePrefill(required=len(required), prefilled=len(required) - len(missing),
                          certified=sum(f.source == SOURCE_LICENCE for f in form.fields),
                          conflicts=[c.label for c in form.conflicts], missing=missing)
