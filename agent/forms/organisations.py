"""Organisations in a message: companies and shops (济南泉城科技有限公司, 老王烧烤店), other bodies LAC tags
as organisations (齐鲁医院), and things the user names (旅馆名字叫…, 项目名称是…)."""
from __future__ import annotations

import re

from agent.forms.found import NOT_A_VALUE, Found
from agent.forms.lexer import Token
from agent.forms.names import looks_like_name
from agent.forms.roles import Roles
from agent.forms.vocabulary import FormWords
from agent.zh.patterns import alternation
from agent.zh.sentences import sentence_start

# Words that end the walk back over a shop's name (开|了|一家|老王烧烤店).
_ORG_BREAK_WORDS = {"叫", "是", "开", "办", "注册", "在", "有", "的", "了", "个", "一个", "家", "一家", "我", "我们", "想", "要",
                    "开办", "成立", "注销", "新建", "准备", "拟", "查", "开个", "开了"}
_BREAK_TAGS = ("w", "r", "p", "u", "q", "m", "c", "d", "xc", "TIME")
_COMPANY_NAME_CUE = re.compile(r"(?:公司|企业|店铺|店|字号|商号|单位)(?:的)?(?:名字|名称|名)(?:叫|是|为|：|:)\s*|(?:公司|店|企业)叫\s*")
# A thing named by the user: "旅馆名字叫…", "船的名称是…" (a person's 名字 is taken by the name cue first).
_TITLE_CUE = re.compile(r"(?:的)?(?:名字|名称|名)(?:叫做|叫|是|为|[：:])\s*")
# The word before 名 that makes it no name of a thing: 姓名, 签名, 报名, 点名…
_NOT_TITLE_ENDINGS = ("姓", "签", "点", "报", "排", "实", "化", "起", "取")


class OrganisationReader:
    def __init__(self, words: FormWords, roles: Roles):
        self.roles = roles
        self.company_ending = re.compile(f"(?:{alternation(words.company_endings)})$")
        self.generic_starts = tuple(words.generic_org_starts)

    def read(self, text: str, tokens: list[Token], found: Found) -> None:
        self._named_companies(text, found)
        self._titles(text, found)
        self._tagged(text, tokens, found)

    def plausible_company(self, name: str) -> bool:
        """'济南泉城科技有限公司', '老王烧烤店' yes; '新公司', '物流公司', '奶茶店' (a kind, not a name) no."""
        if re.search(r"有限|集团|股份|合作社|分公司|事务所", name):
            return True
        if name.startswith(self.generic_starts):
            return False
        return len(name) >= (6 if name.endswith("公司") else 5)

    @staticmethod
    def _named_companies(text: str, found: Found) -> None:
        # "店名叫…" / "公司名称：…": the user names it, so any length counts.
        for m in _COMPANY_NAME_CUE.finditer(text):
            tail = re.match(r"[\u4e00-\u9fa5A-Za-z0-9（）()·]{2,40}", text[m.end():])
            if tail and not NOT_A_VALUE.search(tail.group(0)) and not found.overlaps((m.end(), m.end() + tail.end())):
                found.add("company", tail.group(0), m.end(), m.end() + tail.end())

    def _titles(self, text: str, found: Found) -> None:
        # "旅馆名字叫…", "项目名称是…": a named thing; the words before the cue say what it is.
        for m in _TITLE_CUE.finditer(text):
            head = text[max(sentence_start(text, m.start()), m.start() - 4):m.start()]
            if not self._names_a_thing(re.split(r"[，,、\s]", head)[-1]):
                continue  # 我的名字叫…, 孩子名字是… name a person; 签名/报名 are no names
            tail = re.match(r"[\u4e00-\u9fa5A-Za-z0-9（）()·\-]{2,30}", text[m.end():])
            if not tail or NOT_A_VALUE.search(tail.group(0)) or looks_like_name(tail.group(0), self.roles.cues):
                continue
            a, b = m.end(), m.end() + tail.end()
            if not found.overlaps((a, b)):
                found.add("title", tail.group(0), a, b)

    def _names_a_thing(self, head: str) -> bool:
        if not head or head.endswith(_NOT_TITLE_ENDINGS) or re.search(r"[我你他她您]", head):
            return False
        return not any(self.roles.cues.get(w) not in (None, "company") for w in self.roles.cue_re.findall(head))

    def _tagged(self, text: str, tokens: list[Token], found: Found) -> None:
        for i, (word, tag, a, b) in enumerate(tokens):
            if found.overlaps((a, b)):
                continue
            if tag == "ORG" and len(word) >= 3:
                if not self.company_ending.search(word):
                    found.add("org", word, a, b)
                elif self.plausible_company(word):
                    found.add("company", word, a, b)
                continue
            if self.company_ending.search(word) and tag in ("n", "nz", "vn", "LOC"):
                start = _name_start(tokens, i)
                if start < a and self.plausible_company(text[start:b]):
                    found.add("company", text[start:b], start, b)


def _name_start(tokens: list[Token], i: int) -> int:
    """Walk back over the words of a shop's name ending at token ``i``: 老王|烧烤|店."""
    j = i
    while j > 0:
        w, t, _, _ = tokens[j - 1]
        if w in _ORG_BREAK_WORDS or t in _BREAK_TAGS:
            break
        j -= 1
    return tokens[j][2]
