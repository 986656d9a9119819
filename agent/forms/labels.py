"""What a form field's label says: which kinds of slot can fill it (姓名 takes a name, 出生医院 an
organisation) and its words, matched against the words next to a value."""
from __future__ import annotations

import functools
import re

from agent.forms.roles import Roles
from agent.forms.vocabulary import FormWords
from agent.zh.patterns import alternation
from corpus.schema import FormField

_NAME_LABEL = re.compile(r"(姓名|名字)")
_COMPANY_NAME_LABEL = re.compile(r"(企业|公司|单位|商户|个体工商户|店铺|字号|市场主体).*名称|^名称$")
_BRACKETS = re.compile(r"（[^）]*）|\([^)]*\)")
_TYPED_KINDS = ("id_number", "phone", "date", "address", "uscc", "money", "int")


def bracketless(label: str) -> str:
    """法定代表人（负责人）姓名 -> 法定代表人姓名."""
    return _BRACKETS.sub("", label)


def bigrams(text: str) -> set[str]:
    text = re.sub(r"[^\u4e00-\u9fa5A-Za-z0-9]", "", text)
    return {text[i:i + 2] for i in range(len(text) - 1)}


def title_words(f: FormField) -> str:
    """The label without brackets and the words every name label shares: 旅馆（企业）名称 -> 旅馆."""
    return re.sub(r"（[^）]*）|\([^)]*\)|名称|名字|姓名|名", "", f.label)


@functools.lru_cache(maxsize=4096)
def label_value_re(label: str) -> re.Pattern:
    """'落户地址是…', '生育津贴收款账号：…': the label and the value the user gives after it."""
    return re.compile(re.escape(label) + r"\s*(?:叫做|是|为|填|写|在|叫)?\s*[：:]?\s*([^，。；;,!！?？\n]+)")


class Labels:
    """Reads field labels with the role words and organisation endings of the vocabulary."""

    def __init__(self, roles: Roles, words: FormWords):
        self.roles = roles
        self.org_label_tail = re.compile(f"({alternation(list(words.org_label_endings))})$")
        self.org_name_endings = {k: v for k, v in words.org_label_endings.items() if v}
        self._kinds = functools.lru_cache(maxsize=4096)(self._slot_kinds)
        self._words = functools.lru_cache(maxsize=4096)(self._label_bigrams)

    def slot_kinds(self, f: FormField) -> frozenset[str]:
        """Slot types that can fill the field."""
        return self._kinds(f.key, f.label, f.type, self.roles.of_field(f))

    def _slot_kinds(self, key: str, label: str, type_: str, role: str | None) -> frozenset[str]:
        if type_ in _TYPED_KINDS:
            return frozenset({type_})
        if type_ != "text":
            return frozenset()
        core = bracketless(label)
        if _NAME_LABEL.search(core):
            return frozenset({"name"})
        if _COMPANY_NAME_LABEL.search(core) or (role == "company" and key.endswith("name")):
            return frozenset({"company", "org", "title"})
        if self.org_label_tail.search(core):
            return frozenset({"org", "company"})
        if core.endswith("人"):
            return frozenset({"name"})
        if core.endswith("名称") or re.search(r"[^姓]名$", core):
            return frozenset({"title"})  # 项目名称, 船名: a thing the user names (名字叫…), not a person
        if key.endswith("_name"):
            return frozenset({"name"})
        return frozenset()

    def words(self, f: FormField) -> frozenset[str]:
        """The label's word pairs without its person: 母亲身份证号 -> 身份 份证 证号."""
        return self._words(f.label)

    def _label_bigrams(self, label: str) -> frozenset[str]:
        for prefix in sorted(self.roles.label_words, key=len, reverse=True):
            if label.startswith(prefix):
                label = label[len(prefix):]
                break
        # A person word is matched by role, not as label words: 新法定代表人姓名 shares nothing
        # with "法定代表人王某" but the role, which it does not have.
        label = self.roles.person_label_re.sub("|", label)
        return frozenset(bigrams(label) - {"姓名", "号码", "名称"})

    def core(self, f: FormField) -> list[str]:
        """The label without its person words, and its last two characters: what an option follows (性别：女)."""
        label = f.label
        for prefix in self.roles.label_words:
            label = label.replace(prefix, "")
        return [w for w in (label[-2:], label) if len(w) >= 2]

    def org_tail(self, f: FormField) -> str | None:
        """The kind of organisation the label ends with (出生医院 -> 医院)."""
        tail = self.org_label_tail.search(bracketless(f.label))
        return tail.group(1) if tail else None
