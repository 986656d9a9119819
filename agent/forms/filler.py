"""一表申请: fill a scenario's unified form from what the user said.

Generic over forms: a field is matched by its type, its role (declared, or read from its key or label:
``mother_id_number`` wants the mother's ID) and the words of its label; no scenario is named here. Turns
are read in order so a later statement corrects an earlier one; values the user typed into the form (source
``user``) stay unless the latest message states a new one. Invalid values are kept and flagged.

Call ``FormFiller.warm_up()`` at start-up: LAC, jionlp's region table and cn2an take a few seconds to load
on first use."""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from corpus.schema import APPLIES_FOR, SITUATION, Form, FormField, condition_holds
from agent.forms.extraction import StreamingChat, ask_for_fields, grounded
from agent.forms.labels import Labels
from agent.forms.matching import Asking, Candidate, Matcher, Turn
from agent.forms.parts import FULL_LENGTH, PART_TYPES, Part, PartReader, replaced, splice
from agent.forms.relation import RelationFields
from agent.forms.roles import PERSON_SLOT_TYPES, PRONOUN_RE, SUBJECT
from agent.forms.situation_fit import FormFacts, SituationFit
from agent.forms.slots import SlotExtractor, default_slot_extractor
from agent.forms.validators import Validator, default_validator, id_number_info
from agent.reply import FormFieldValue, FormState
from agent.wording import Wording, default_wording
from agent.zh.ids import load_region_table
from agent.zh.numerals import spoken_digits_to_digits
from agent.zh.width import to_halfwidth

log = logging.getLogger("daoban.agent.prefill")

SOURCE_CONVERSATION, SOURCE_DERIVED, SOURCE_LLM, SOURCE_USER = "conversation", "derived", "llm", "user"
_STICKY_SOURCES = {SOURCE_USER, "e_license"}
# "我是她…" right before a relation word: the user says what they are to the person 她 refers to.
_TOWARDS_RE = re.compile(r"(?:我|俺|本人)(?:就)?(?:是|系)[他她]的?$")
# The user says what they are, in the clause before a name (我是他们邻居，叫X): the name is theirs.
_SELF_SAID = re.compile(r"(?:我|俺|本人)(?:就|们)?(?:是|系)[^。；;！!？?]{0,8}[，,]?\s*(?:叫|名叫)?\s*$")
# The values a person named bare takes with them (their phone may be the user's contact: it stays unplaced).
_BARE_TYPES = ("name", "id_number", "date", "address")
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\d(?:[\s\-]?\d)*(?:[\s\-]?[Xx])?(?![0-9A-Za-z])")


def _for_all(turns: list[Turn], role: str | None) -> None:
    """Whom the application is for, once known, was meant from the first message on (a message that said its
    own keeps it)."""
    if role is not None:
        for turn in turns:
            turn.subject = turn.subject or role


@dataclass
class _Value:
    value: str
    source: str
    valid: bool = True
    error: str | None = None
    turn: int = -1  # which text set it (-1: from ``previous``)
    whose: str | None = None  # the role the value was said with (孩子…手机… -> child)


class FormFiller:
    """Fills a ``Form`` into a ``FormState`` from the session's user messages.

    ``llm``: a chat model that streams and enforces its own time budget (the pipeline passes
    ``agent.llm.RunnerChat``); None fills by the rules only. ``slots``: the slot extractor (its LAC and
    its cache of read messages); the process's shared one by default."""

    def __init__(self, llm: StreamingChat | None = None, slots: SlotExtractor | None = None,
                 validator: Validator | None = None, wording: Wording | None = None):
        self.llm = llm
        self.wording = wording or default_wording()  # dialect read as standard words: 俺娘叫… is 我母亲叫…
        self.slot_extractor = slots or default_slot_extractor()
        self.validator = validator or default_validator()
        vocab = self.slot_extractor.vocab
        self.roles = self.slot_extractor.roles
        self.labels = Labels(self.roles, vocab.words)
        self.matcher = Matcher(vocab, self.roles, self.labels, self.validator)
        self.vocab = vocab
        self.parts = PartReader(vocab.words, self.slot_extractor.numbers)
        self.relations = RelationFields(self.roles, self.validator)
        self.situation_fit = SituationFit(vocab.words.situation_fit)
        # The user's role when the application is for their spouse (wife -> husband), from 我老公 -> wife.
        self._spouse_of_subject = {self.roles.cues[w]: me for w, me in vocab.roles.spouse_of_me.items()
                                   if w in self.roles.cues}
        self._spouse_of_me = {me: other for other, me in self._spouse_of_subject.items()}  # husband -> wife

    def warm_up(self) -> None:
        """Load LAC, cn2an and jionlp's ID region and location tables now rather than on the first message."""
        self.slot_extractor.warm_up()
        load_region_table()
        self.validator.validate("address", "济南市历下区泉城路8号")  # jionlp's location table

    # -- public API -------------------------------------------------------------------------------------

    def fill(self, form: Form, texts: list[str], answers: dict[str, str] | None = None,
             previous: FormState | None = None, guide_id: str = "", today: dt.date | None = None,
             guide_kind: str = "scenario", picked: dict[str, str] | None = None) -> FormState:
        """Fill ``form`` from ``texts`` (the user's messages, oldest first).

        ``texts`` may be the whole session or only the new messages; ``previous``
        is the state after the last turn. Only the last text overrides a value the
        user typed into the form. ``picked``: enum values the turn already decided (the matter's 情形 read from the
        user's words), used where the conversation set nothing else."""
        answers = answers or {}
        today = today or dt.date.today()
        fields = self._active_fields(form, answers)
        values, subject, speaker = self._read_turns(fields, texts, answers, previous, today, form.subject_role)
        merged = self._merge_previous(fields, values, previous, last=len(texts) - 1)
        if self.llm is not None:
            # Earlier messages were offered to the LLM on their own turns (their values are in ``previous``): only
            # what is new goes in, and nothing goes when the new text has no value the rules could read and no
            # digit ("我要办理…"): the LLM would find nothing there, and on a CPU each call costs seconds.
            new_texts = texts[-1:] if previous is not None else texts
            first_new = len(texts) - len(new_texts)
            if any(v.turn >= first_new for v in values.values()) or any(re.search(r"\d", t) for t in new_texts):
                self._merge_llm(fields, new_texts, merged, today)
        self._picked(fields, merged, picked or {})
        self._applies_for(form, merged, subject)
        self._situation_left(form, fields, merged, subject, today)
        # fields under an enum choice of the form itself (代他人办理 -> the 代办人 fields) follow what it holds now
        answers = self._form_answers(form, answers, merged)
        fields = self._active_fields(form, answers)
        merged = {f.key: merged[f.key] for f in fields if f.key in merged}
        self._relation_fields(fields, merged, subject, speaker, texts)
        self._derive(fields, merged, today)
        return self._state(form, fields, merged, answers, guide_id, guide_kind=guide_kind)

    def apply_edits(self, form: Form, state: FormState, edits: dict[str, str],
                    answers: dict[str, str] | None = None, today: dt.date | None = None) -> FormState:
        """The user's own edits in the form: validated, source ``user``; unknown keys are an error.

        Without ``answers`` the 情形 gating of ``state`` is kept: its fields stay, and a
        conditional field counts as required if it was missing or filled before."""
        today = today or dt.date.today()
        by_key = {f.key: f for f in form.fields}
        unknown = sorted(set(edits) - set(by_key))
        if unknown:
            raise ValueError(f"表单 {form.id} 没有这些字段：{', '.join(unknown)}")
        required_keys = None
        if answers is None:
            shown = {fv.key for fv in state.fields}
            fields = [f for f in form.fields if f.key in shown]
            had = {fv.key for fv in state.fields if fv.value not in (None, "")} | set(state.missing)
            required_keys = {f.key for f in fields if f.required and (not f.when or f.key in had)}
            answers = {}
        merged = {fv.key: _Value(fv.value, fv.source or SOURCE_CONVERSATION, fv.valid, fv.error)
                  for fv in state.fields if fv.value not in (None, "")}
        for key, raw in edits.items():
            f = by_key[key]
            if raw is None or str(raw).strip() == "":
                merged.pop(key, None)  # clearing a field is a valid edit
                continue
            checked = self.validator.validate(f.type, str(raw), f.options, today=today)
            merged[key] = _Value(checked.value, SOURCE_USER, checked.valid, checked.error)
            for d in form.fields:  # a new source value re-derives its dependants
                if d.derived_from == key and d.key not in edits and merged.get(d.key, _Value("", "")).source != SOURCE_USER:
                    merged.pop(d.key, None)
        answers = self._form_answers(form, answers, merged)
        if required_keys is None:
            fields = self._active_fields(form, answers)
        else:
            # the state's 情形 gating is kept; a field gated by the form's own choices (代他人办理) follows them
            enums = set(form.field_options())
            own = [f for f in form.fields if f.when and set(f.when) <= enums]
            fields = [f for f in form.fields if (condition_holds(f.when, answers) is not False if f in own
                                                 else f.key in shown)]
            required_keys = {k for k in required_keys if all(f.key != k for f in own)} | {
                f.key for f in own if f.required and condition_holds(f.when, answers) is True}
        merged = {f.key: merged[f.key] for f in fields if f.key in merged}
        self._derive(fields, merged, today)
        return self._state(form, fields, merged, answers, state.guide_id, required_keys, state.guide_kind)

    # -- reading the turns ------------------------------------------------------------------------------

    def _read_turns(self, fields: list[FormField], texts: list[str], answers: dict[str, str],
                    previous: FormState | None, today: dt.date,
                    subject_role: str = SUBJECT) -> tuple[dict[str, _Value], str | None, "_Speaker"]:
        """Each text in turn: its slots assigned to fields, validated. What the form was asking for before
        each message is replayed for older messages, and is the previous state's missing list before the last.
        Also returns whom the application is for when the user named someone else (给我爸办 -> father), and what
        the user said of themself."""
        values: dict[str, _Value] = {}
        asking = Asking(asked=[], last_set={})  # nothing was asked before the first message
        identities = self._identities_in(fields, previous)
        subject = last_kin = None
        by_key = {f.key: f for f in fields}
        turns, kins = [], []
        # an operator's note (来电人…) is read as the caller's words; 其女儿 in any message of it is the caller's
        note = any(self.wording.is_operator_note(t) for t in texts)
        for text in texts:
            turn = self._read(self.wording.as_caller(text, note), today, identities, subject, last_kin, note)
            turn.form_subject = subject_role
            identities, subject = turn.identities, turn.subject
            # 他/她 in the next message: whom the application is for once known (我弟弟…我是他的监护人，爸妈都不在了),
            # else the person this message named last
            known = subject if subject in self.roles.persons - identities else None
            last_kin = known or self._last_kin(turn.text, identities) or last_kin
            turns.append(turn)
            kins.append(last_kin)
        # whom it is for, once said, was meant from the start (我孙子… then 孩子…身份证…)
        _for_all(turns, next((t.subject for t in turns if t.subject is not None), None))
        subject = subject or self._subject_once_known(turns)
        subject = self._named_before_me(turns) or subject
        subject = self._spouse_side(turns) or subject
        young = self._young_kin(turns)
        if young is not None:
            subject = young
            # the user is a relative of theirs (their aunt, brother), who applies as such (held_as: their guardian)
            mine = self.vocab.roles.held_as.get(self.vocab.roles.young_kin.kin_of, self.vocab.roles.young_kin.kin_of)
            identities = identities or {mine}
            for turn in turns:
                turn.identities = turn.identities or {mine}
        for i, turn in enumerate(turns):
            if previous and i == len(texts) - 1:
                asking.asked = list(previous.missing)
            assigned = self.matcher.assign(fields, turn, asking)
            for key, cand in assigned.items():
                f = by_key[key]
                whose = turn.slots[cand.slot_id].role if cand.slot_id is not None else None
                earlier = values.get(key)
                if cand.identity and earlier is not None and turn.subject is not None and earlier.whose == turn.subject:
                    continue  # the speaker's own value stands in for the applied-for person's only while theirs is unsaid
                checked = self.validator.validate(f.type, cand.value, f.options, today=today)
                values[key] = _Value(checked.value, SOURCE_CONVERSATION, checked.valid, checked.error, turn=i,
                                     whose=whose)
                for kind in self.labels.slot_kinds(f) or {f"enum:{key}"}:
                    asking.last_set[kind] = key
            for part in self.parts.find(turn.text):
                key = _corrected_here(by_key, assigned, part)
                if key is None:
                    key = self._part_field(fields, part, turn.text, values, previous, asking, kins[i])
                    key = None if key in assigned else key
                old = values[key].value if key in values else _previous_value(previous, key)
                new = splice(old or "", part, FULL_LENGTH.get(by_key[key].type)) if key is not None else None
                if new is not None:
                    checked = self.validator.validate(by_key[key].type, new, by_key[key].options, today=today)
                    values[key] = _Value(checked.value, SOURCE_CONVERSATION, checked.valid, checked.error, turn=i)
            if not any(s.type in PART_TYPES for s in turn.slots):
                self._continued(fields, turn, values, previous, i, today)
            asking.asked = [f.key for f in fields if self._required(f, answers)
                            and not (f.key in values and values[f.key].valid)]
        return values, subject, _speaker(turns, identities, today)

    def _subject_once_known(self, turns: list[Turn]) -> str | None:
        """员工叫司马俊，身份证… then 我是人事部的佟佳: a number given for someone the user may apply for, once the user
        has said what they are in a later message (one acting for others may apply for anyone they name), is
        whom the application is for, from the start."""
        mine = {r for t in turns for r in t.identities}
        acting = mine | {s.role for t in turns for s in t.slots if s.role in self.vocab.roles.acts_for}
        if not mine:
            return None
        others = (self._others(acting) | {SUBJECT}) - mine
        role = next((s.role for t in turns for s in t.slots if s.type == "id_number" and s.role in others), None)
        _for_all(turns, role)
        return role

    def _named_before_me(self, turns: list[Turn]) -> str | None:
        """A name said bare, with no word for whose it is (冯桂香，370827…; 龙雪晴 3705…), before the user says who they
        are under another name or what they are to her (…我叫刘晓东; 我是她妈龙桂芳): the name and the bare values
        said with it are of someone else, whom the application is for. Their role: the subject already said, else
        the user's spouse's side (我是她丈夫 -> wife), else the one helped (``subject``). Returns that role when it
        made one the subject."""
        own = [(i, s) for i, t in enumerate(turns) for s in t.slots
               if s.type == "relation" and s.role == "applicant"
               or s.type == "name" and (s.role == "applicant" or s.role in t.identities)]
        if not own:
            return None
        own_names = {s.value for _, s in own if s.type == "name"}
        if not own_names:
            return None  # 王丽 139… then 我是孩子妈妈: with no other name of theirs, the bare name may be the user's
        last_i, last_s = own[-1]
        role = next((t.subject for t in turns if t.subject is not None), None)
        if role is None:
            me = [r for t in turns for r in t.identities]
            role = next((self._spouse_of_me[r] for r in me if r in self._spouse_of_me), SUBJECT)
        made = False
        for i, turn in enumerate(turns):
            if i > last_i:
                break
            limit = last_s.start if i == last_i else len(turn.text)
            bare = [s for s in turn.slots if s.type == "name" and s.role is None and s.start < limit
                    and s.value not in own_names]
            if not bare:
                continue
            # the bare name and the bare values after it, up to what the user says of themself
            start = bare[0].start
            turn.slots = [s.model_copy(update={"role": role})
                          if s.role is None and s.type in _BARE_TYPES and start <= s.start < limit else s
                          for s in turn.slots]
            made = True
        if not made:
            return None
        _for_all(turns, role)
        return role

    def _spouse_side(self, turns: list[Turn]) -> str | None:
        """我帮我爱人弄…她叫…我是她丈夫: a spouse said without a side is the other side of what the user says they are
        (wife), their values too. Returns that side when it changed whom the application is for."""
        either = self.vocab.roles.either_spouse
        sides = self._spouse_of_me
        mine = [r for t in turns for r in t.identities if r in sides]
        if either is None or not mine or not any(t.subject == either for t in turns):
            return None
        other = sides[mine[-1]]
        for turn in turns:
            turn.slots = [s.model_copy(update={"role": other}) if s.role == either and s.type in PERSON_SLOT_TYPES
                          else s for s in turn.slots]
            turn.subject = other if turn.subject == either else turn.subject
        return other

    def _young_kin(self, turns: list[Turn]) -> str | None:
        """我侄女华思琪…孩子听力残疾…身份证…: the one relative named with a word for someone who may be a minor, when
        the child's values come with no child named, is that child. Returns the child's role when it applied."""
        young = self.vocab.roles.young_kin
        slots = [(t, s) for t in turns for s in t.slots]
        if young is None or any(s.type == "name" and s.role == young.role for _, s in slots) or not any(
                s.role == young.role and s.type in PERSON_SLOT_TYPES for _, s in slots):
            return None
        named = [(t, s) for t, s in slots if s.type == "name" and s.role in self.roles.kin - {young.role}]
        if len({s.value for _, s in named}) != 1:
            return None
        turn, name = named[0]
        cue = self.roles.nearest_cue(turn.text, name.start, [])
        if cue is None or cue.group(0) not in young.words or not re.fullmatch(r"\s*", turn.text[cue.end():name.start]):
            return None
        for t in turns:
            t.slots = [s.model_copy(update={"role": young.role}) if s.type == "name" and s.value == name.value else s
                       for s in t.slots]
            t.subject = young.role if t.subject in (None, name.role) else t.subject
        return young.role

    def _relation_fields(self, fields: list[FormField], merged: dict[str, _Value], subject: str | None,
                         speaker: "_Speaker", texts: list[str]) -> None:
        """A relation field (与学生关系) the conversation left empty, from whom the user applies for (给我儿子报名)
        or what they said they are (我是孩子妈妈)."""
        for f in fields:
            if f.key in merged or not self.relations.asks_relation(f):
                continue
            value = self.relations.value(f, subject, speaker.identities, speaker.sex, texts)
            if value is not None:
                merged[f.key] = _Value(value, SOURCE_DERIVED)

    def _continued(self, fields: list[FormField], turn: Turn, values: dict[str, _Value], previous: FormState | None,
                   i: int, today: dt.date) -> None:
        """The rest of a number the last message broke off (身份证370102 1990 … then 0307 1234): digits that make an
        incomplete ID number or phone valid are its end."""
        runs = _DIGIT_RUN.findall(spoken_digits_to_digits(to_halfwidth(turn.text)))
        if len(runs) != 1:
            return
        rest = re.sub(r"[\s\-]", "", runs[0]).upper()
        for f in fields:
            if f.type not in PART_TYPES:
                continue
            old = values.get(f.key)  # replayed from the session's messages, else the state before this one
            head = old.value if old is not None else _previous_value(previous, f.key)
            if not head or (old.valid if old is not None else _previous_valid(previous, f.key)):
                continue
            checked = self.validator.validate(f.type, head + rest, f.options, today=today)
            if checked.valid:
                values[f.key] = _Value(checked.value, SOURCE_CONVERSATION, True, None, turn=i)
                return

    def _part_field(self, fields: list[FormField], part: Part, text: str, values: dict[str, _Value],
                    previous: FormState | None, asking: Asking, last_kin: str | None) -> str | None:
        """The field a part correction is about: of the kind named (else the ID number or phone filled last), the
        person named before it (我父亲的身份证…; 他/她: the relative named last), else the one that kind last filled."""
        kinds = [part.kind] if part.kind else [k for k in PART_TYPES if k in asking.last_set]
        held = [f for f in fields if f.type in kinds
                and (f.key in values or _previous_value(previous, f.key))]
        if not held:
            return None
        cues = [m.group(0) for m in self.roles.cue_re.finditer(text, part.start, text.find(part.digits, part.start))]
        role = self.roles.cues[cues[-1]] if cues else (last_kin if PRONOUN_RE.search(text) else None)
        if role is not None:
            fits = [(max((self.vocab.fit(r, role) or 0) for r in self.roles.all_of_field(f)) if
                     self.roles.all_of_field(f) else 0, f.key) for f in held]
            best = max(fits)
            if best[0] > 0:
                return best[1]
        last = [asking.last_set.get(k) for k in kinds]
        return next((k for k in last if k in {f.key for f in held}), held[0].key)

    @staticmethod
    def _merge_previous(fields: list[FormField], values: dict[str, _Value], previous: FormState | None,
                        last: int) -> dict[str, _Value]:
        prev_values: dict[str, _Value] = {}
        if previous:
            for fv in previous.fields:
                if fv.value is not None and fv.value != "":
                    prev_values[fv.key] = _Value(fv.value, fv.source or SOURCE_CONVERSATION, fv.valid, fv.error)
        merged: dict[str, _Value] = {}
        for f in fields:
            new, old = values.get(f.key), prev_values.get(f.key)
            if new and new.turn == last:
                merged[f.key] = new  # the user just said it: it wins, also over their own edit
            elif old and (old.source in _STICKY_SOURCES or not new):
                merged[f.key] = old
            elif new:
                merged[f.key] = new
        return merged

    def _last_kin(self, text: str, identities: set[str]) -> str | None:
        """The person a message last named (我爸的残疾证…, 我们员工卓大伟): whom 他/她 in the next message means."""
        kin = [self.roles.cues[m.group(0)] for m in self.roles.cue_re.finditer(text)]
        kin = [r for r in kin if r in self.roles.persons - identities]
        return kin[-1] if kin else None

    def _read(self, text: str, today: dt.date, identities: set[str], subject: str | None = None,
              last_kin: str | None = None, note: bool = False) -> Turn:
        text = self.wording.standard(text)
        # 电话1345…，不对，是1345…: the number corrected in the same breath is not read
        slots = replaced(text, self.slot_extractor.extract(text, today), self.parts.correction)
        if last_kin is not None:
            # 他/她 before a value with no cue of its own in this message: the relative the last one named
            # (她叫X，身份证…: her name as well as her number).
            slots = [s.model_copy(update={"role": last_kin})
                     if s.role is None and s.type in PERSON_SLOT_TYPES and PRONOUN_RE.search(text, 0, s.start) else s
                     for s in slots]
        slots = [s.model_copy(update={"role": SUBJECT}) if self._a_childs(s, today) else s for s in slots]
        said = {s.value for s in slots if s.type == "relation"}
        # "我是孩子妈妈": the applicant is the mother (a new statement replaces an older one)
        ids = said or set(identities)
        named = [s.value for s in slots if s.type == "subject"]
        if note and set(named) <= {SUBJECT}:
            # 来电人称其父X…想给老人办: the relative the caller named is the one the word for the helped means
            named = self._introduced(text, slots) or named
        if named:
            subject = named[-1]  # "给我妈申请": the form's own person is the mother
        elif subject is None:
            # Nobody gives a relative's ID number for nothing: the person whose number it is (我母亲叫…，身份证…；
            # 他叫…，身份证…) is whom the application is for, unless the user said they are that person.
            # A 经办人 named with their values acts for the others named (职工X，身份证…；经办人Y，电话…).
            acting = ids | {s.role for s in slots if s.role in self.vocab.roles.acts_for}
            # (the word for the one helped, 老人叫…，身份证…, says it of itself)
            kin = [s.role for s in slots if s.type == "id_number" and s.role in (self._others(acting) | {SUBJECT}) - ids]
            subject = kin[0] if kin else self._said_towards(text, slots, ids)
            if subject is None and SUBJECT not in ids and any(
                    s.type == "name" and s.role == SUBJECT and not _SELF_SAID.search(text, 0, s.start) for s in slots):
                subject = SUBJECT  # 辖区居民X…给他报…身份证号…: the one helped, named by the word for them
        if not ids and subject in self._spouse_of_subject:
            ids = {self._spouse_of_subject[subject]}  # 给媳妇迁户口…我房振东: the user is her husband
        return Turn(text=text, slots=slots, identities=ids, subject=subject)

    def _a_childs(self, slot, today: dt.date) -> bool:
        """An ID number said with no one's word whose holder is too young to be the one typing (roles.yaml)."""
        youngest = self.vocab.roles.youngest_speaker
        if slot.type != "id_number" or slot.role is not None or youngest is None:
            return False
        info = id_number_info(slot.value, today)
        return info is not None and info.age < youngest

    def _introduced(self, text: str, slots: list) -> list[str]:
        """In an operator's note, the family member the caller introduces by name (来电人称其母尹秀芳…, read as
        我母亲尹秀芳): whom the call is about, so the application is for them."""
        for s in slots:
            if s.type != "name" or s.role not in self.roles.kin:
                continue
            cue = self.roles.cue_re.search(text, max(0, s.start - 8), s.start)
            while cue is not None and cue.end() < s.start:  # the cue word right before the name
                cue = self.roles.cue_re.search(text, cue.end(), s.start)
            if cue is not None and self.roles.cues[cue.group(0)] == s.role and re.search(r"我的?$", text[:cue.start()]):
                return [s.role]
        return []

    def _said_towards(self, text: str, slots: list, identities: set[str]) -> str | None:
        """Whom the user says what they are to (孩子叫…，我是她爸…): the person 他/她 there refers back to, when
        they are of the user's family."""
        taken = [(s.start, s.end) for s in slots if s.type not in ("relation", "subject")]
        named = tuple((s.start, s.role) for s in slots if s.type == "name" and s.role)
        for s in slots:
            m = _TOWARDS_RE.search(text, 0, s.start) if s.type == "relation" and s.role == "applicant" else None
            role = self.roles.person_before(text, m.start(), taken, named) if m else None
            if role in self.roles.kin - identities:
                return role
            # 厂里人事说她到岁数了…她叫臧玉霞…我是她对象: 她 is the person named last, whatever word named her
            them = [n for n in slots if n.type == "name" and m and n.end <= m.start()
                    and n.role in self.roles.persons - identities - {"applicant"}]
            if them:
                return them[-1].role
        return None

    def _others(self, identities: set[str]) -> frozenset[str]:
        """Whom the user may apply for: their family, or anyone they name when they act for others (我是公司人事)."""
        if identities & set(self.vocab.roles.acts_for):
            return self.roles.persons - set(self.vocab.roles.acts_for)
        return self.roles.kin

    def _identities_in(self, fields: list[FormField], previous: FormState | None) -> set[str]:
        """Roles the applicant held in ``previous``: the same ID number in applicant_* and mother_*."""
        if not previous:
            return set()
        by_key = {f.key: f for f in fields}
        role = self.roles.of_field
        mine = {fv.value for fv in previous.fields if fv.valid and fv.value and fv.type == "id_number"
                and fv.key in by_key and role(by_key[fv.key]) == "applicant"}
        return {role(by_key[fv.key]) for fv in previous.fields
                if fv.valid and fv.value in mine and fv.type == "id_number" and fv.key in by_key
                and role(by_key[fv.key]) not in (None, "applicant")}

    @staticmethod
    def _picked(fields: list[FormField], merged: dict[str, _Value], picked: dict[str, str]) -> None:
        for f in fields:
            value = picked.get(f.key)
            if value and f.key not in merged and value in f.options:
                merged[f.key] = _Value(value, SOURCE_CONVERSATION)

    @staticmethod
    def _applies_for(form: Form, merged: dict[str, _Value], subject: str | None) -> None:
        """Whom the application is for: someone else when the user named them (给我爸办), else the user; a
        choice the user made in the form stays."""
        field = next((f for f in form.fields if f.key == APPLIES_FOR and len(f.options) == 2), None)
        if field is None or merged.get(APPLIES_FOR, _Value("", "")).source in _STICKY_SOURCES:
            return
        if subject not in (None, "applicant"):
            merged[APPLIES_FOR] = _Value(field.options[1], SOURCE_CONVERSATION)
        elif APPLIES_FOR not in merged:
            merged[APPLIES_FOR] = _Value(field.options[0], SOURCE_DERIVED)

    def _situation_left(self, form: Form, fields: list[FormField], merged: dict[str, _Value], subject: str | None,
                        today: dt.date) -> None:
        """The one 情形 the person's age and who applies leave (未满16周岁… for a child of nine); a choice said or
        made stays, a pick of an earlier turn is read again (the ID may have changed)."""
        field = next((f for f in fields if f.key == SITUATION and f.type == "enum"), None)
        if field is None or (SITUATION in merged and merged[SITUATION].source != SOURCE_DERIVED):
            return
        ids = [merged[f.key] for f in fields if f.type == "id_number" and f.key in merged and merged[f.key].valid
               and self.roles.of_field(f) == form.subject_role]
        info = id_number_info(ids[0].value, today) if ids else None
        applies = merged.get(APPLIES_FOR)
        choice = next((f for f in fields if f.key == APPLIES_FOR), None)
        if form.subject_role == "company":
            party = "organisation"
        elif applies is not None and choice is not None and choice.options:
            party = "self" if applies.value == choice.options[0] else "proxy"
        else:
            party = "proxy" if subject not in (None, "applicant") else "self"
        pick = self.situation_fit.pick(field.options, FormFacts(age=info.age if info else None, party=party))
        if pick is not None:
            merged[SITUATION] = _Value(pick, SOURCE_DERIVED)
        else:
            merged.pop(SITUATION, None)

    @staticmethod
    def _form_answers(form: Form, answers: dict[str, str], merged: dict[str, _Value]) -> dict[str, str]:
        """The 情形 answers plus the form's own enum choices, which a field's ``when`` may name."""
        own = {f.key: merged[f.key].value for f in form.fields
               if f.type == "enum" and f.key in merged and merged[f.key].valid and f.key not in answers}
        return {**answers, **own}

    @staticmethod
    def _active_fields(form: Form, answers: dict[str, str]) -> list[FormField]:
        # A field under a 情形 the user ruled out is not shown; undecided ones are shown, not required.
        return [f for f in form.fields if condition_holds(f.when, answers) is not False]

    @staticmethod
    def _required(f: FormField, answers: dict[str, str]) -> bool:
        return f.required and condition_holds(f.when, answers) is True

    # -- LLM --------------------------------------------------------------------------------------------

    def _merge_llm(self, fields: list[FormField], texts: list[str], merged: dict[str, _Value], today: dt.date) -> None:
        wanted = [f for f in fields if "conversation" in f.sources and not f.derive
                  and not (f.key in merged and merged[f.key].valid)]
        if not wanted or not any(t.strip() for t in texts):
            return
        try:
            proposed = ask_for_fields(self.llm, wanted, texts)
        except Exception as exc:  # noqa: BLE001 - the LLM is optional; rules already filled what they could
            log.warning("LLM form extraction ignored: %s: %s", type(exc).__name__, exc)
            return
        said = re.sub(r"\s", "", to_halfwidth("\n".join(texts)))
        said_compact = re.sub(r"[\s\-+]", "", said).upper()
        for f in wanted:
            raw = proposed.get(f.key)
            if raw in (None, "", [], {}) or not isinstance(raw, (str, int, float)):
                continue
            checked = self.validator.validate(f.type, str(raw), f.options, today=today)
            if not checked.valid:
                continue  # an invalid guess is noise; an invalid user value is already kept by the rules
            if not grounded(f, str(raw), checked.value, said, said_compact):
                log.info("LLM value for %s not found in the conversation; ignored", f.key)
                continue
            merged[f.key] = _Value(checked.value, SOURCE_LLM, True, None)

    # -- derived fields and the state -------------------------------------------------------------------

    def _derive(self, fields: list[FormField], merged: dict[str, _Value], today: dt.date) -> None:
        for f in fields:
            if not (f.derived_from and f.derive):
                continue
            if f.key in merged and merged[f.key].source in _STICKY_SOURCES:
                continue
            src = merged.get(f.derived_from)
            info = id_number_info(src.value, today) if src and src.valid else None
            if info is None:
                if f.key in merged and merged[f.key].source == SOURCE_DERIVED:
                    del merged[f.key]  # its source went away or became invalid
                continue
            raw = {"birth_date": info.birth_date.isoformat(), "gender": info.gender, "age": str(info.age),
                   "region": info.region_name or info.region_code}[f.derive]
            checked = self.validator.validate(f.type, raw, f.options, today=today)
            merged[f.key] = _Value(checked.value, SOURCE_DERIVED, checked.valid, checked.error)

    def _state(self, form: Form, fields: list[FormField], merged: dict[str, _Value],
               answers: dict[str, str], guide_id: str, required_keys: set[str] | None = None,
               guide_kind: str = "scenario") -> FormState:
        out, missing = [], []
        for f in fields:
            v = merged.get(f.key)
            required = f.key in required_keys if required_keys is not None else self._required(f, answers)
            out.append(FormFieldValue(key=f.key, label=f.label, type=f.type, value=v.value if v else None,
                                      source=v.source if v else None, valid=v.valid if v else True,
                                      error=v.error if v else None, required=required,
                                      role=self.roles.of_field(f)))
            if required and (v is None or not v.valid):
                missing.append(f.key)
        return FormState(form_id=form.id, guide_id=guide_id, guide_kind=guide_kind, subject_role=form.subject_role,
                         fields=out, missing=missing)


def _corrected_here(by_key: dict[str, FormField], assigned: dict[str, Candidate], part: Part) -> str | None:
    """The field of the last number of the part's kind this message gave before the part ("身份证3702…，哦不对，最后
    一位是X"): that number is the one corrected."""
    before = [(c.pos, key) for key, c in assigned.items()
              if c.pos < part.pos and by_key[key].type == (part.kind or by_key[key].type) in PART_TYPES]
    return max(before)[1] if before else None


def _previous_valid(previous: FormState | None, key: str) -> bool:
    fv = next((f for f in previous.fields if f.key == key), None) if previous is not None else None
    return bool(fv is not None and fv.value and fv.valid)


@dataclass(frozen=True)
class _Speaker:
    """What the user said of themself: the roles they hold (我是孩子妈妈) and the sex in their own ID number."""

    identities: frozenset[str]
    sex: str | None


def _speaker(turns: list[Turn], identities: set[str], today: dt.date) -> _Speaker:
    own = {"applicant", *identities}
    numbers = [s.value for t in turns for s in t.slots if s.type == "id_number" and s.role in own]
    info = next((i for i in map(lambda n: id_number_info(n, today), reversed(numbers)) if i), None)
    return _Speaker(frozenset(identities), info.gender if info else None)


def _previous_value(previous: FormState | None, key: str | None) -> str | None:
    fv = next((f for f in previous.fields if f.key == key), None) if previous is not None else None
    return fv.value if fv is not None else None
