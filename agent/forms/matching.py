"""Which slot fills which field: each (field, slot) pair is scored by the field's roles against the slot's
role, the label's words next to the value, what the form just asked and corrections; the best pairs win,
one field a slot (except that "我是孩子妈妈" lets one value fill the applicant's and the mother's field)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from typing import Iterator

from agent.forms.found import Slot
from agent.forms.labels import Labels, bigrams, bracketless, label_value_re, title_words
from agent.forms.roles import PERSON_VALUE_TYPES, SUBJECT, Roles
from agent.forms.validators import Validator
from agent.forms.vocabulary import Vocabulary
from agent.zh.patterns import alternation, longest_first
from agent.zh.sentences import CLAUSE_BREAK, sentence_start
from agent.zh.width import to_halfwidth
from corpus.schema import FormField

# Fields without a role (落户地址, 出生医院) take any slot, preferring unlabelled ones.
_ANY_ROLE = 5
_UNLABELLED_NO_ROLE = 6
# A value given right after the form asked for this field, and a correction ("不对，是…").
_ASKED = 7
_CORRECTION = 8
_EXPLICIT_LABEL = 20
# Slot types whose owner is the value itself: a USCC or company name is the company's.
_ROLELESS_SLOT_TYPES = {"uscc", "company", "org", "title", "money", "int"}
WEAK_ROLE_TYPES = {"phone", "address", "date"}
_NUMBER_TYPES = {"id_number", "phone", "uscc"}

Fit = tuple[float, bool, bool]  # score, only the applicant's identity makes it fit, the slot's role is the field's own


@dataclass
class Candidate:
    score: float
    pos: int
    key: str
    value: str
    slot_id: int | None = None
    identity: bool = False
    native: bool = False  # the slot's role is the field's own (applicant -> applicant_*)


@dataclass
class Turn:
    text: str
    slots: list[Slot]
    identities: set[str] = dc_field(default_factory=set)  # roles the applicant also holds
    subject: str | None = None  # whom the application is for when not the user (给我妈申请 -> mother)
    kinds: dict[str, frozenset[str]] = dc_field(default_factory=dict)  # field key -> slot kinds it takes
    form_subject: str = SUBJECT  # the form's own word for whom it is for (Form.subject_role: employee, child…)
    subject_has_fields: bool = False  # the form has fields of the subject's own role (father_* for 孩子爸爸)
    for_others_fields: bool = False  # the form has fields of one applying for someone else (代办人姓名)


@dataclass
class Asking:
    """What the form asked before a message, and which field each kind of value last filled."""

    asked: list[str]
    last_set: dict[str, str]

    def first_asked(self, kind: str, key: str, kinds: dict[str, frozenset[str]]) -> bool:
        """``key`` is the first asked field that takes a ``kind`` value."""
        for k in self.asked:
            if kind in kinds.get(k, ()):
                return k == key
        return False


class Matcher:
    def __init__(self, vocab: Vocabulary, roles: Roles, labels: Labels, validator: Validator):
        self.vocab, self.roles, self.labels, self.validator = vocab, roles, labels, validator
        words = vocab.words
        self.government = re.compile(f"({alternation(words.government_endings)})$")
        self.correction = re.compile(alternation(words.correction_cues))
        self.generic_surfaces = frozenset(vocab.options.generic)
        self.cues_longest = longest_first(roles.cues)
        # The words that only say what a number is (身份证号, 电话): every field of that type has them, so they
        # tell no one's field from another's (代办人身份证号 is not closer to "身份证…" than 公民身份号码).
        cues = words.number_cues
        self.type_words = {kind: frozenset().union(*(bigrams(w) for w in ws))
                           for kind, ws in (("id_number", cues.id_number), ("phone", cues.phone))}
        self.said_for = [(re.compile(alternation(said)), bigrams(word)) for word, said in words.label_words_said.items()]

    # -- choosing ---------------------------------------------------------------------------------------

    def assign(self, fields: list[FormField], turn: Turn, asking: Asking) -> dict[str, Candidate]:
        """Field key -> the value this turn gives it."""
        turn.kinds = {f.key: self.labels.slot_kinds(f) | ({f"enum:{f.key}"} if f.type == "enum" else set())
                      for f in fields}
        persons = [f for f in fields if f.type in PERSON_VALUE_TYPES]
        turn.subject_has_fields = turn.subject is not None and any(
            (self.vocab.fit(r, turn.subject) or 0) >= 9 for f in persons for r in self.roles.all_of_field(f))
        for_others = set(self.vocab.roles.for_others)
        turn.for_others_fields = any(for_others & set(self.roles.all_of_field(f)) for f in persons)
        cores = [bracketless(f.label) for f in fields]
        shared_cores = {c for c in cores if cores.count(c) > 1}
        cands: list[Candidate] = []
        for f in self._conversational(fields):
            cands.extend(self._slot_candidates(f, turn, asking, enumerate(turn.slots)))
            if f.type == "enum":
                cands.extend(self._enum_candidates(f, turn, asking))
            cands.extend(self._explicit(f, turn.text, shared_cores))
        chosen: dict[str, Candidate] = {}
        used: set[int] = set()
        _pick(cands, chosen, used)
        self._place_leftovers(fields, turn, asking, chosen, used)
        return chosen

    @staticmethod
    def _conversational(fields: list[FormField]) -> list[FormField]:
        return [f for f in fields if not (f.derive and "conversation" not in f.sources)]

    def _slot_candidates(self, f: FormField, turn: Turn, asking: Asking,
                         slots: Iterator[tuple[int, Slot]], leftover: bool = False) -> list[Candidate]:
        """Candidates of ``f`` among ``slots`` (slot index, slot). A ``leftover`` is placed after the rest:
        one point less, and never as an identity or as the field's own role."""
        kinds = self.labels.slot_kinds(f)
        out = []
        for sid, slot in slots:
            if slot.type not in kinds:
                continue
            if kinds == {"org", "company"} and not self._org_matches(f, slot):
                continue
            fit = self._fit(f, slot, turn, asking, slot.type)
            if fit and leftover:
                out.append(Candidate(fit[0] - 1, slot.start, f.key, slot.value, sid))
            elif fit:
                out.append(Candidate(fit[0], slot.start, f.key, slot.value, sid, fit[1], fit[2]))
        return out

    def _place_leftovers(self, fields: list[FormField], turn: Turn, asking: Asking,
                         chosen: dict[str, Candidate], used: set[int]) -> None:
        # A phone, address or date whose role fits no field (a phone said right after the
        # child's name) is still the user's: place it as if it had no role, after the rest.
        # Names and ID numbers identify a person, so they never move to someone else.
        leftovers = [(i, s.model_copy(update={"role": None})) for i, s in enumerate(turn.slots)
                     if i not in used and s.role is not None and s.type in WEAK_ROLE_TYPES]
        if not leftovers:
            return
        retry: list[Candidate] = []
        for f in self._conversational(fields):
            if f.key not in chosen:
                retry.extend(self._slot_candidates(f, turn, asking, iter(leftovers), leftover=True))
        _pick(retry, chosen, used)

    def _org_matches(self, f: FormField, slot: Slot) -> bool:
        noun = self.labels.org_tail(f)
        if noun not in self.labels.org_name_endings:
            return not self.government.search(slot.value)  # 税务局 is where you go, not your company
        return noun in slot.value or slot.value[-1] in self.labels.org_name_endings[noun]

    # -- scoring ----------------------------------------------------------------------------------------

    def _fit(self, f: FormField, slot: Slot, turn: Turn, asking: Asking, kind: str) -> Fit | None:
        """How well ``slot`` fits field ``f`` (None: not at all), whether only the applicant's
        identity (我是孩子妈妈) makes it fit, and whether the slot's role is the field's own."""
        froles, srole = self.roles.all_of_field(f), slot.role
        subject_field = bool(froles) and turn.subject not in (None, "applicant") and (
            self.roles.is_subject_field(f) or self._of_form_subject(f, turn))
        if subject_field:
            if srole in turn.identities and srole != turn.subject or srole == "applicant":
                # 给我爱人交医保…我是她老公: the husband's values are the speaker's, not the spouse's; and 老人叫…我叫…:
                # the user's own are never those of the one they apply for
                return None
            # 给我妈申请: 残疾人姓名 is the mother's; the user's own values go to the 代办人 fields
            froles = (turn.subject, *(r for r in froles if r not in ("applicant", SUBJECT)))
            if srole == SUBJECT:
                froles = (*froles, SUBJECT)  # 其母尹秀芳…老人身份证…: the word for the one helped is that same person
        if slot.type in _ROLELESS_SLOT_TYPES:
            froles, srole = (), None  # a USCC, company name, amount or count is matched by label words only
        overlap = len(self.labels.words(f) & self._context_words(_around(turn, slot))
                      - (self.type_words.get(slot.type, frozenset()) if f.type == slot.type else frozenset()))
        if slot.type == "title" and not set(re.sub(r"[的名字称叫是为：:\s]", "", slot.context)) & set(title_words(f)):
            return None  # "旅馆名字叫…" fills 旅馆名称, not 项目名称
        if slot.type in ("int", "money") and not overlap and not self._counts_here(f, slot, turn, asking, kind):
            return None
        if not froles:
            score, identity = self._roleless_score(f, slot, srole, turn, asking, kind), False
        else:
            got = self._role_score(f, froles, srole, subject_field, overlap, turn, asking, kind)
            if got is None:
                return None
            score, identity = got
        if srole is None and self._corrects(turn, asking, kind, f):
            score = max(score, _CORRECTION)
        native = srole is not None and any((self.vocab.fit(r, srole) or 0) >= 9 for r in froles)
        return score + 2 * overlap, identity, native

    def _context_words(self, around: str) -> set[str]:
        """The word pairs next to a value, with those of a label word said the everyday way (住在 -> 居住)."""
        out = bigrams(around)
        for said, word in self.said_for:
            if said.search(around):
                out |= word
        return out

    def _of_form_subject(self, f: FormField, turn: Turn) -> bool:
        """A person field of the form's own subject (受伤害职工 on a 工伤 form): 俺儿…他身份证… fills it, when the form
        has no field of the relative's own role (a newborn form's father_* keep the father's). On a form for its
        applicant with no field for one who applies for them (申请人（男方）姓名, no 代办人), the applicant's name, ID
        number and birth date are those of whom the user applies for, and so is the phone when theirs is said in
        the message (the user's own is the contact only in its place)."""
        if turn.subject_has_fields or self.roles.of_field(f) != turn.form_subject:
            return False
        if turn.form_subject == "applicant":
            theirs = f.type == "phone" and any(s.type == "phone" and s.role == turn.subject for s in turn.slots)
            return not turn.for_others_fields and (f.type in ("text", "id_number", "date") or theirs)
        return turn.form_subject not in (SUBJECT, *self.roles.not_persons) and f.type in PERSON_VALUE_TYPES

    @staticmethod
    def _counts_here(f: FormField, slot: Slot, turn: Turn, asking: Asking, kind: str) -> bool:
        # "孩子三岁了" is a number, not the 从业人数: counts and amounts need the label's
        # words nearby, a matching unit (12人 -> 人数), or to answer the question just asked.
        units = (slot.raw[-1:] + turn.text[slot.end:slot.end + 1]) if slot.type == "int" else ""  # 8个人
        answer = len(turn.text.strip()) <= len(slot.raw) + 6 and asking.first_asked(kind, f.key, turn.kinds)
        return any(u in f.label for u in units if "\u4e00" <= u <= "\u9fa5") or bool(answer)

    @staticmethod
    def _roleless_score(f: FormField, slot: Slot, srole: str | None, turn: Turn, asking: Asking, kind: str) -> int:
        score = _UNLABELLED_NO_ROLE if srole is None else _ANY_ROLE
        if srole is None and slot.type in ("name", "id_number"):
            # a person's name said without a cue is the user's own, unless this field was just asked for
            asked_here = bool(asking.asked) and asking.first_asked(kind, f.key, turn.kinds)
            score = _ASKED if asked_here else _ANY_ROLE
        return score

    def _role_score(self, f: FormField, froles: tuple[str, ...], srole: str | None, subject_field: bool,
                    overlap: int, turn: Turn, asking: Asking, kind: str) -> tuple[int, bool] | None:
        identity = False
        score = max((s for s in (self.vocab.fit(r, srole) for r in froles) if s is not None), default=None)
        if score is None and srole == "applicant" and any(self._held(r, turn.identities) for r in froles):
            # 我媳妇…我叫…: the husband's own values fill the 被投靠人 (spouse) fields a husband fits
            score, identity = 9, True
        elif score is None and "applicant" in froles and srole in turn.identities:
            score, identity = 9, True
        elif (score or 0) < 8 and ("agent" in froles or "guardian" in froles) and srole in turn.identities \
                and turn.subject not in (None, "applicant", srole):
            # 给我妈办…，我是她儿子张伟: the son's values are the speaker's, who applies for her as the 代办人 (or 监护人);
            # 我是他妈妈龚丽: the mother is the 监护人 more than any field without a role (拟变更姓名)
            score, identity = 8, True
        if score is not None and srole in froles and srole != "applicant":
            score += 1  # exactly the label's person (男方 for 申请人（男方）) over a mere applicant
        if score is None and srole is None and subject_field:
            score = _UNLABELLED_NO_ROLE  # the form's own person, said without a cue
        if score is None and srole is None:
            if asking.asked and asking.first_asked(kind, f.key, turn.kinds):
                score = _ASKED
            elif self._corrects(turn, asking, kind, f):
                score = _CORRECTION
            elif overlap:
                score = _ANY_ROLE
        return None if score is None else (score, identity)

    def _held(self, field_role: str, identities: set[str]) -> bool:
        """A role the applicant holds, or one the field takes as well as its own (spouse fields take a husband)."""
        return field_role in identities or any((self.vocab.fit(field_role, i) or 0) >= 9 for i in identities)

    def _corrects(self, turn: Turn, asking: Asking, kind: str, f: FormField) -> bool:
        return bool(self.correction.search(turn.text)) and asking.last_set.get(kind) == f.key

    # -- options and labelled values --------------------------------------------------------------------

    def _enum_candidates(self, f: FormField, turn: Turn, asking: Asking) -> list[Candidate]:
        text = to_halfwidth(turn.text)
        relation_spans = [(s.start, s.end) for s in turn.slots if s.type == "relation"]
        core = self.labels.core(f)
        out: list[Candidate] = []
        seen: list[tuple[int, int]] = []
        for surface, option in self.validator.surfaces(f.options):
            for a in _find_all(text, surface):
                b = a + len(surface)
                if any(a < y and x < b for x, y in seen):
                    continue  # a longer surface already covers it
                labelled = text.strip() == surface or any(w in text[max(0, a - 5):a] for w in core)
                if (len(surface) == 1 or surface in self.generic_surfaces) and not labelled:
                    continue  # 男/女/是/有 alone are too common: only right after the label (性别：女) or as the reply
                seen.append((a, b))
                cand = self._option_candidate(f, turn, asking, text, surface, option, a, labelled, relation_spans)
                if cand:
                    out.append(cand)
        return out

    def _option_candidate(self, f: FormField, turn: Turn, asking: Asking, text: str, surface: str, option: str,
                          a: int, labelled: bool, relation_spans: list[tuple[int, int]]) -> Candidate | None:
        b = a + len(surface)
        cue = next((c for c in self.cues_longest if surface.endswith(c)), None)
        if any(a < y and x < b for x, y in relation_spans):
            mrole = "applicant"  # 我是孩子妈妈
        elif cue and len(cue) >= 2 and cue in surface:
            mrole = self.roles.cues[cue]  # the option word names a person: 孩子妈妈 is about the mother
        else:
            mrole = self.roles.of_value(text, a, b, [])
        if self.roles.of_field(f) == "applicant" and mrole != "applicant" and not labelled:
            return None  # 与逝者关系 is what the applicant says of themself, not any 子女 in the text
        kind = f"enum:{f.key}"
        fake = Slot(type=kind, value=option, raw=surface, start=a, end=b, role=mrole)
        fit = self._fit(f, fake, turn, asking, kind)
        if fit is None and not cue:
            # an option word like 男孩 or 随父 is specific enough without a role cue
            fit = self._fit(f, fake.model_copy(update={"role": None}), turn, asking, kind)
            fit = fit or (_ANY_ROLE, False, False)
        return Candidate(fit[0], a, f.key, option) if fit else None

    @staticmethod
    def _explicit(f: FormField, text: str, shared_cores: set[str] = frozenset()) -> list[Candidate]:
        """'落户地址是…' / '生育津贴收款账号：…': the user named the field. A text field's label
        without its bracket (船名 for 船名（拟定或已核定）) counts when no other field shares it."""
        label = f.label
        if label not in text:
            core = bracketless(label)
            if f.type != "text" or core == label or len(core) < 2 or core in shared_cores or core not in text:
                return []
            label = core
        out = []
        for m in label_value_re(label).finditer(text):
            value = m.group(1).strip()
            if f.type in _NUMBER_TYPES and not re.search(r"\d", value):
                continue  # "身份证号码错了一位" names the field, it gives no number
            if value:
                out.append(Candidate(_EXPLICIT_LABEL, m.start(1), f.key, value))
        return out


def _pick(cands: list[Candidate], chosen: dict[str, Candidate], used: set[int]) -> None:
    # Best first; at equal fit the later mention (a correction) wins.
    cands.sort(key=lambda c: (c.score, c.pos), reverse=True)
    via_identity: dict[int, bool] = {}
    for c in cands:
        if c.key in chosen:
            continue
        # A slot fills one field, except that "我是孩子妈妈" lets it fill the applicant's and the mother's.
        if c.slot_id is not None and c.slot_id in used and not (
                c.identity or (via_identity.get(c.slot_id) and c.native)):
            continue
        chosen[c.key] = c
        if c.slot_id is not None:
            used.add(c.slot_id)
            via_identity.setdefault(c.slot_id, c.identity)


def _around(turn: Turn, slot: Slot) -> str:
    """The words next to a slot that may name its field: up to 8 characters before and 6 after,
    within its clause and not past a neighbouring value ("1988年7月1日参加工作，想2026年12月1日退休")."""
    text = turn.text
    lo, hi = max(0, slot.start - 8), min(len(text), slot.end + 6)
    values = [s for s in turn.slots if s.type not in ("relation", "subject") and s is not slot]
    for s in values:
        if s.end <= slot.start:
            lo = max(lo, s.end)
        elif s.start >= slot.end:
            hi = min(hi, s.start)
    for m in CLAUSE_BREAK.finditer(text, lo, slot.start):
        lo = m.end()
    m = CLAUSE_BREAK.search(text, slot.end, hi)
    if m:
        hi = m.start()
    before = text[lo:slot.start]
    if slot.type == "uscc":
        # "破产企业是A公司，统一社会信用代码…": the code is that company's; its cue counts too
        prev = [s for s in values if s.type in ("company", "org") and 0 <= slot.start - s.end <= 12]
        if prev:
            owner = prev[-1].start
            before = text[max(sentence_start(text, owner), owner - 8):owner] + before
    return before + text[slot.end:hi]


def _find_all(text: str, sub: str) -> Iterator[int]:
    i = text.find(sub)
    while i >= 0:
        yield i
        i = text.find(sub, i + 1)
