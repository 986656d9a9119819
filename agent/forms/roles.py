"""Whose is it: the role of a value in what the user said (the cue before it: 孩子妈妈叫…, 他/她 back to the
last person named) and the role of a form field (declared ``role:``, else read from its key or label)."""
from __future__ import annotations

import functools
import re

from agent.forms.vocabulary import ServiceKinds, Vocabulary
from agent.zh.patterns import alternation, longest_first
from agent.zh.sentences import sentence_start
from corpus.schema import FormField

# Fields of these types may also belong to a person named inside their label (经办人姓名).
PERSON_VALUE_TYPES = ("text", "id_number", "phone", "date", "address")
# The slot types a person's own values come as (a name is a "name" slot, read into a text field).
PERSON_SLOT_TYPES = ("name", "id_number", "phone", "date", "address")
SUBJECT = "subject"  # the role of the person an application is for (corpus/roles.yaml)
_SEARCH = object()  # of_value: find the nearest cue itself
OWNER_RE = re.compile(r"(?:我|俺|咱)(?:们)?(?:家)?(?:的)?$")
PRONOUN_RE = re.compile(r"(?<![其吉])[他她](?![们人])")


class Roles:
    """Role cues and field roles from the vocabulary; field lookups are cached per instance."""

    def __init__(self, vocab: Vocabulary):
        words = vocab.roles
        self.cues = vocab.role_cues  # word -> role
        self.not_persons = frozenset(words.not_persons)
        self.kin = frozenset(words.kin)
        # roles of people other than the user and a body (他/她 may mean any of them)
        self.persons = frozenset(self.cues.values()) - self.not_persons
        # 闺女身份证号我看错了一位，正确的是…: the user saying they made a mistake is no cue of whose the number is
        self._mistake = alternation(longest_first(vocab.words.correction_cues))
        self.cue_re = re.compile("|".join(self._cue_pattern(w, words.service_kinds)
                                          for w in longest_first(self.cues)))
        self._cue_after_re = re.compile(rf"[\s，,]*(?:是|为|系)(?:孩子|宝宝|新生儿|小孩)?的?({self.cue_re.pattern})")
        self.applicant_side_words = tuple(words.applicant_side_words)
        self.applicant_side_labels = tuple(words.applicant_side_labels)
        self.label_words = words.field_labels  # label word -> role, in file order
        self._keys_longest = sorted(words.field_keys.items(), key=lambda kv: -len(kv[0]))
        self._labels_longest = sorted(words.field_labels.items(), key=lambda kv: -len(kv[0]))
        self.person_label_re = re.compile("|".join(longest_first(
            w for w, r in words.field_labels.items() if r != "company")))
        self._inferred = functools.lru_cache(maxsize=4096)(self._infer)
        self._all = functools.lru_cache(maxsize=4096)(self._all_roles)

    def _cue_pattern(self, word: str, kinds: ServiceKinds | None) -> str:
        """A cue word; one that also names a kind of service (职工 in 职工养老保险) only when no service noun follows;
        the user's own word not when they go on to say they got something wrong (我看错了, 我打错了)."""
        if self.cues[word] == "applicant" and self._mistake:
            return rf"{re.escape(word)}(?![\u4e00-\u9fa5]?(?:{self._mistake}))"
        if kinds is None or word not in kinds.words:
            return re.escape(word)
        return f"{re.escape(word)}(?!{alternation(longest_first([*kinds.before, *kinds.also_before.get(word, [])]))})"

    # -- values in text ---------------------------------------------------------------------------------

    def of_value(self, text: str, start: int, end: int, taken: list[tuple[int, int]],
                 best: re.Match | None | object = _SEARCH, named: tuple[tuple[int, str], ...] = ()) -> str | None:
        """Role from the nearest cue before the value in its sentence, else a '…是孩子妈妈' after it.
        他/她 as the nearest cue refers back to the last person named before it. ``best``: that nearest cue when
        the caller already found it (``nearest_cue``); ``named``: (position, role) of the names read so far."""
        lo = max(sentence_start(text, start), start - 60)
        if best is _SEARCH:
            best = self.nearest_cue(text, start, taken)
        after = self.cue_after(text, end)
        if after:  # "张三是孩子爸爸" says more than a cue earlier in the sentence
            return after
        pronoun = None
        for m in PRONOUN_RE.finditer(text, best.end() if best else lo, start):
            if not any(a <= m.start() < b for a, b in taken):
                pronoun = m
        if pronoun:
            return self.person_before(text, pronoun.start(), taken, named)
        return self.cues[best.group(0)] if best else None

    def cue_after(self, text: str, end: int) -> str | None:
        """The role in "…是孩子爸爸" right after a value."""
        m = self._cue_after_re.match(text[end:end + 10])
        return self.cues[m.group(1)] if m else None

    def nearest_cue(self, text: str, start: int, taken: list[tuple[int, int]]) -> re.Match | None:
        """The last role cue before ``start`` in its sentence (at most 60 characters back)."""
        best = None
        for m in self.cue_re.finditer(text, max(sentence_start(text, start), start - 60), start):
            if not any(a <= m.start() < b for a, b in taken):
                best = m  # a cue word inside another value (公司 in …有限公司) says nothing
        return best

    def person_before(self, text: str, pos: int, taken: list[tuple[int, int]],
                      named: tuple[tuple[int, str], ...] = ()) -> str | None:
        """The role of the last person cue before ``pos`` (any sentence): whom 他/她 refers to. A person named
        (``named``: position, role) before a later word for someone not the user's own and not named (独居老人孙秀兰，…，
        侄女隔三岔五来看看…她身份证号…) is still the one meant: that word is the named person's relative."""
        last = None
        for m in self.cue_re.finditer(text, max(0, pos - 200), pos):
            if self.cues[m.group(0)] not in self.not_persons and not any(a <= m.start() < b for a, b in taken):
                last = m
        role = self.cues[last.group(0)] if last else None
        earlier = [r for at, r in named if at < pos and r in self.persons and (last is None or at < last.start())]
        if earlier and last is not None and not self._own(text, last.start()) \
                and not any(last.end() <= at < pos for at, _ in named):
            return earlier[-1]
        return role

    @staticmethod
    def _own(text: str, at: int) -> bool:
        """The person word is said of the user's own (我爸, 俺家闺女, 我的老伴)."""
        return bool(OWNER_RE.search(text, max(0, at - 4), at))

    # -- form fields ------------------------------------------------------------------------------------

    def of_field(self, f: FormField) -> str | None:
        """The field's declared role, else the one its key or label gives."""
        return f.role or self._inferred(f.key, f.label)

    def inferred(self, key: str, label: str) -> str | None:
        """The role a key prefix (mother_id_number) or label prefix (母亲姓名) gives, if any."""
        return self._inferred(key, label)

    def _infer(self, key: str, label: str) -> str | None:
        for prefix, role in self._keys_longest:
            if key == prefix or key.startswith(prefix + "_"):
                return role
        for prefix, role in self._labels_longest:
            if label.startswith(prefix):
                return role
        return None

    def all_of_field(self, f: FormField) -> tuple[str, ...]:
        """Every role a field can take: a person word in its label (经办人姓名 -> agent, 女方姓名 ->
        wife) says more than its key; an applicant_* key still takes the applicant's values."""
        return self._all(self.of_field(f), f.label, f.type)

    def _all_roles(self, base: str | None, label: str, type_: str) -> tuple[str, ...]:
        if type_ not in PERSON_VALUE_TYPES:
            return (base,) if base else ()
        found = self._label_persons(label)
        if base == "applicant" and "applicant" not in found:
            found.append("applicant")
        return tuple(found) or ((base,) if base else ())

    def _label_persons(self, label: str) -> list[str]:
        # A role word counts at the start, after another role word (单位经办人) or inside a bracket
        # (申请人（经营者或经办人）); after any other word it names someone else (新法定代表人).
        found: list[str] = []
        i, eligible, depth = 0, True, 0
        while i < len(label):
            for word, role in self._labels_longest:
                if label.startswith(word, i):
                    if (eligible or depth) and role != "company" and role not in found:
                        found.append(role)
                    i += len(word)
                    break
            else:
                depth += {"（": 1, "(": 1, "）": -1, ")": -1}.get(label[i], 0)
                eligible = False
                i += 1
        return found

    def is_subject_field(self, f: FormField) -> bool:
        """A field of the person the application is for, who may be someone else (给我妈申请): one whose role is
        ``subject``, or an applicant_* name, ID or date whose label names no applicant (残疾人姓名, 姓名)."""
        role = self.of_field(f)
        if role == SUBJECT:
            return f.type in PERSON_VALUE_TYPES
        return (role == "applicant" and f.type in ("text", "id_number", "date")
                and not any(w in f.label for w in self.applicant_side_labels))
