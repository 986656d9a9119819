"""Find typed values (slots) in one user message: names, ID numbers, phones, dates, addresses,
organisations, 统一社会信用代码, money and counts, each with the role of the person or body it belongs to
(applicant, mother, child, legal_rep …), and what the user says of themself (我是孩子妈妈, 给我妈申请).

Rules, regexes and Baidu LAC (person/place/organisation tags) do the work; nothing here knows about a
particular scenario or form."""
from __future__ import annotations

import datetime as dt
import functools
import re

from agent.forms.addresses import read_addresses
from agent.forms.found import Found, Slot
from agent.forms.lexer import Lexer, Token
from agent.forms.names import is_time_word, looks_like_name, surname_data
from agent.forms.numbers import NumberReader
from agent.forms.organisations import OrganisationReader
from agent.forms.roles import PERSON_VALUE_TYPES, Roles
from agent.forms.vocabulary import Vocabulary, default_vocabulary
from agent.zh.dates import DATE_PATTERNS
from agent.zh.money import format_money, parse_money
from agent.zh.numerals import CN_NUM, cn_int, spoken_digits_to_digits
from agent.zh.patterns import alternation, longest_first
from agent.zh.sentences import sentence_start
from agent.zh.width import to_halfwidth_in_place

_HAN_CHAR = re.compile(r"[\u4e00-\u9fa5]")
_NUM = rf"(?:\d+(?:,\d{{3}})*(?:\.\d+)?|[{CN_NUM}点]+)"
_MONEY_RE = re.compile(
    rf"(?P<cur>¥|￥|人民币)?\s*(?P<num>{_NUM}(?:[亿万千](?:\d|[一二两三四五六七八九])?)?)\s*(?P<unit>元|块钱|块|万元)?"
)
_INT_RE = re.compile(rf"(?P<num>\d+|[{CN_NUM}]+)\s*(?P<unit>个|人|名|位|岁|间|套|次|户|辆|台|家|张|份|只|条|胎)")
# "法人王建国，…，我本人来办": the applicant is the person just described.
# The role of a workplace's staff (corpus/roles.yaml): "我是…厂劳资科的石慧" says the user is one of them.
STAFF = "staff"
_SELF_APPLY_RE = re.compile(r"(?:我本人|我自己|本人)(?:亲自)?(?:来|去|过来)?(?:办理?|申请|递交|提交)")


class SlotExtractor:
    """Extracts slots with its own lexer and vocabulary; remembers the slots of recent messages."""

    def __init__(self, vocab: Vocabulary | None = None, lexer: Lexer | None = None, cache_size: int = 512):
        self.vocab = vocab or default_vocabulary()
        self.lexer = lexer or Lexer()
        self.roles = Roles(self.vocab)
        self.numbers = NumberReader(self.vocab.words)
        self.organisations = OrganisationReader(self.vocab.words, self.roles)
        self.money_cue = re.compile(alternation(self.vocab.words.money_cues))
        name_cues = alternation(longest_first(self.vocab.words.name_cues))
        self.name_cue_re = re.compile(rf"(?:{name_cues})[：:\s]*")
        self.name_cue_before_re = re.compile(rf"(?:{name_cues})[：:]?$")
        self._relation_patterns()
        # Between a name and its number: "尚婉清，身份证…", "孩子雷诺，身份证号是…", "钮佳 370102…".
        number_words = alternation(longest_first([*self.vocab.words.number_cues.id_number,
                                                  *self.vocab.words.number_cues.phone, "号码", "号"]))
        self.before_number_re = re.compile(rf"[\s，,、：:]*(?:(?:的)?(?:{number_words})(?:是|为)?[\s，,、：:]*)?$")
        # the user's own words count too: "我羊帆，187…" is the user's name said right before their number
        # and so do the words for a party to a deal (买方危明，身份证…)
        person_cues = [w for w, r in self.roles.cues.items() if r != "company"] + self.vocab.roles.party_words
        self.cue_end_re = re.compile(rf"(?:{alternation(longest_first(person_cues))})$")
        latin = alternation(longest_first(self.vocab.words.latin_name_cues)) if self.vocab.words.latin_name_cues \
            else "(?!)"
        self.latin_name_re = re.compile(
            rf"(?:{latin})[：:\s]*(?P<name>[A-Z][a-z]+(?:[ ·\-][A-Z][a-z]+){{1,2}})(?![A-Za-z])")
        # Each turn re-reads the session; a message's slots never change for the same day.
        self._cached = functools.lru_cache(maxsize=cache_size)(self._extract_tuple)

    def _relation_patterns(self) -> None:
        cues, no_person = self.roles.cues, self.roles.not_persons
        # What a cue after "我是…" makes the applicant (identity: the applicant IS the mother).
        rel = alternation(longest_first([w for w, r in cues.items() if r not in ("applicant", "company") and len(w) > 1]))
        # One character is enough right after 他的/她 (我是她儿, 我是他爹), not before 他/她 (我是娃他爸 is the father).
        rel1 = alternation(longest_first([w for w, r in cues.items() if r not in ("applicant", "company")]))
        # Kin words as the subject of an application: 给我妈申请 (one character is enough after 给/替).
        kin = alternation(longest_first([w for w, r in cues.items() if r not in no_person | {"contact", "agent"}]))
        self.spouse_of_me = self.vocab.roles.spouse_of_me
        body = alternation(longest_first([w for w, r in cues.items() if r == "company"]))
        # a named business before the job word says where the user works (我是某机械厂人事, 我是顺达物流公司会计)
        business = rf"[\u4e00-\u9fa5]{{1,8}}?(?:{alternation(longest_first(self.vocab.words.company_endings))})"
        self.relation_res = (
            # "我是孩子妈妈", "我是单位里的会计" (a job word said of the user)
            re.compile(rf"(?:我|俺|本人)(?:就)?(?:是|系)\s*(?:孩子|宝宝|新生儿|小孩|他|她|(?:该?(?:{body})|{business})里?)?的?({rel})"),
            re.compile(rf"(?:我|俺|本人)(?:就)?(?:是|系)(?:他|她)的?({rel1})(?![他她])"),
            # "法定代表人是我自己" / "联系人就是我本人"
            # (not "逝者是我父亲": 我 followed by a relative's word is that relative)
            re.compile(rf"({rel})(?:就)?(?:是|为|填)(?:我自己|我本人|本人|我)(?![们国家])(?!的?(?:{kin}))"),
            # "我是苗雨桐的老公": the relation said of the user towards a person they name.
            re.compile(rf"(?:我|俺|本人)(?:就)?(?:是|系)[\u4e00-\u9fa5·]{{2,4}}?的({rel})"),
            # "我叫张伟，是孩子爸爸": the relation said of the name the user just gave.
            re.compile(rf"我(?:叫|是|名叫)[\u4e00-\u9fa5·]{{2,4}}[，,\s]*(?:我)?(?:是|系)(?:孩子|宝宝|新生儿|小孩|他|她)?的?({rel})"),
        )
        # "我是济南一家公司的人事宋雅", "我是…社区的网格员刘晓燕": a job word after the user's workplace is said of them;
        # "我是东岳机械厂劳资科的石慧": their workplace alone, right before their name, says they are its staff.
        job_roles = set(self.vocab.roles.held_as) | set(self.vocab.roles.acts_for)
        jobs = alternation(longest_first([w for w, r in cues.items() if r in job_roles]))
        workplace = rf"[\u4e00-\u9fa5]{{0,12}}?(?:{alternation(longest_first(self.vocab.roles.workplace_endings))})"
        self.job_res = (
            re.compile(rf"(?:我|俺|本人)(?:就)?(?:是|系){workplace}的?[\u4e00-\u9fa5]{{0,3}}?({jobs})"),
            re.compile(rf"(?:我|俺|本人)(?:就)?(?:是|系){workplace}(的)(?!{self.roles.cue_re.pattern})"
                       rf"(?=[\u4e00-\u9fa5·]{{2,3}}(?:[，,。；;\s]|$))"),
        ) if self.vocab.roles.workplace_endings and jobs else ()
        # "我老公叫…" says the user is the wife; "我老婆…" the husband.
        self.spouse_of_me_re = re.compile(rf"我(?:的)?({alternation(list(self.spouse_of_me))})")
        # The person an application is for, when it is not the user: "给我妈申请", "残疾人是我儿子".
        # the user's own family word (我女儿, 我的侄女), right before a name
        own_kin = alternation(longest_first([w for w, r in cues.items() if r in self.roles.kin and len(w) > 1]))
        self.own_kin_re = re.compile(rf"(?:我|俺|咱)(?:家)?的?(?:{own_kin})")
        self.subject_for_re = re.compile(rf"(?:给|替|为|帮|代)(?:我|咱|俺)?(?:家)?的?({kin})(?:申请|申领|办理|办|报名|登记|参保|代办|换|补)")
        self.subject_is_re = re.compile(rf"([\u4e00-\u9fa5]{{1,3}}人)(?:是|为)(?:我|我家|咱家)的?({kin})")
        # "我妈要办身份证换领": the kin of the user wants the service, so it is theirs (the user applies for them).
        self.subject_wants_re = re.compile(
            rf"(?:我|咱|俺)(?:家)?的?({kin})(?:要|想|需要|得)(?:去)?(?:申请|申领|办理|办|换|补)")

    def warm_up(self) -> None:
        """Load LAC and cn2an now rather than on the first user message."""
        self.lexer.tokens("我叫王丽")
        cn_int("十二")

    # -- the public API ---------------------------------------------------------------------------------

    def extract(self, text: str, today: dt.date | None = None) -> list[Slot]:
        """All slots in ``text``, in order of position. ``today`` anchors relative dates."""
        return list(self._cached(text, today or dt.date.today()))

    def name_spans(self, text: str) -> list[tuple[int, int]]:
        """Where people's names are in ``text``: a name says nothing about the service asked for (施海洋 is not 用海)."""
        return [(s.start, s.end) for s in self.extract(text) if s.type == "name"]

    def company_spans(self, text: str) -> list[tuple[int, int]]:
        """Where companies' names are in ``text``: 青岛海润物流有限公司 is a value for the form, not 物流 asked about."""
        return [(s.start, s.end) for s in self.extract(text) if s.type == "company"]

    def cache_clear(self) -> None:
        self._cached.cache_clear()

    def _extract_tuple(self, text: str, today: dt.date) -> tuple[Slot, ...]:
        norm = spoken_digits_to_digits(to_halfwidth_in_place(text))
        found = Found(text)
        for type_, value, a, b in self.numbers.find(norm):
            found.add(type_, value, a, b)
        self._relations(norm, found)
        self._subjects(norm, found)
        tokens = self.lexer.tokens(norm)
        self._names(norm, tokens, found)
        self.organisations.read(norm, tokens, found)
        read_addresses(norm, tokens, found)
        self._dates(norm, today, found)
        self._money(norm, found)
        self._ints(norm, found)
        # "我是她奶奶曲金凤": the relative word that says who the user is makes their own values the applicant's.
        said_of_me = {(s.start, s.end): s.value for s in found.slots if s.type == "relation"}
        # "我是公司会计，…会计名字：葛欣然": the same job word said again names the user (another job word does not)
        said_words = {norm[a:b]: role for (a, b), role in said_of_me.items()}
        names: list[Slot] = []
        for s in sorted(found.slots, key=lambda s: s.start):
            if s.role is not None or s.type in ("relation", "subject"):
                if s.type == "name":
                    names.append(s)
                continue
            taken = [t for t in found.taken if t != (s.start, s.end)]
            cue = self.roles.nearest_cue(norm, s.start, taken)
            named = tuple((n.start, n.role) for n in names if n.role is not None)
            s.role = self.roles.of_value(norm, s.start, s.end, taken, cue, named)
            if s.role in self.vocab.roles.held_as and cue:  # 我是公司会计钱丽: the user, as 经办人
                s.role = said_of_me.get(cue.span()) or said_words.get(cue.group(0)) \
                    or _said_just_before(norm, cue.start(), said_of_me) or s.role
            if s.type == "name":
                if self._of_whom_i_am(norm, s, said_of_me):
                    s.role = None  # "我是苗雨桐的老公": the name is the other person's, not the user's
                elif s.role != "applicant" and _starts_clause(norm, s.start) and not self.roles.cue_after(norm, s.end) \
                        and not _labels(norm, cue, s.start, said_of_me):
                    # "…转到新单位，伍庆，身份证…": a name alone in its clause is not the body or relative said before
                    s.role = None
                if s.role is None:  # "仓管员郭磊…。郭磊身份证…": a name said again is the same person
                    s.role = next((n.role for n in reversed(names) if n.value == s.value and n.role), None)
                names.append(s)
            else:
                # A value said after a name, with no role word between, is that person's (姓名，身份证，电话).
                since = cue.end() if cue else sentence_start(norm, s.start)
                named = [n for n in names if since <= n.start < s.start]
                if named and s.type in PERSON_VALUE_TYPES:
                    s.role = named[-1].role
        return tuple(sorted(found.slots, key=lambda s: s.start))

    @staticmethod
    def _of_whom_i_am(text: str, name: Slot, said_of_me: dict[tuple[int, int], str]) -> bool:
        """The name is followed by 的 and a relation the user said of themself (我是苗雨桐的老公)."""
        return any(a == name.end + 1 and text[name.end] == "的" for a, _ in said_of_me)

    # -- what the user says of themself -----------------------------------------------------------------

    def _relation(self, found: Found, value: str, start: int, end: int, ctx_start: int) -> None:
        """"我是孩子妈妈": the applicant's relation to the subject, and an identity for roles."""
        value = self.vocab.roles.held_as.get(value, value)  # 我是孩子奶奶: a grandparent applies as the guardian
        found.note("relation", value, start, end, ctx_start, role="applicant")

    def _relations(self, norm: str, found: Found) -> None:
        cues = self.roles.cues
        for rx in self.relation_res:
            for m in rx.finditer(norm):
                self._relation(found, cues.get(m.group(1), "guardian"), m.start(1), m.end(1), m.start())
        for rx in self.job_res:
            for m in rx.finditer(norm):
                if not any(r.type == "relation" and r.start == m.start(1) for r in found.slots):
                    self._relation(found, cues.get(m.group(1), STAFF), m.start(1), m.end(1), m.start())
        for m in self.spouse_of_me_re.finditer(norm):
            self._relation(found, self.spouse_of_me[m.group(1)], m.start(1), m.end(1), m.start())
        for m in _SELF_APPLY_RE.finditer(norm):
            # "法人王建国，身份证…，我本人来办": the last person described in the sentence is the applicant.
            cue = None
            for c in self.roles.cue_re.finditer(norm, sentence_start(norm, m.start()), m.start()):
                if not found.overlaps((c.start(), c.end())):
                    cue = c
            if cue and cues[cue.group(0)] not in self.roles.not_persons | {"child", "deceased"}:
                self._relation(found, cues[cue.group(0)], cue.start(), cue.end(), cue.start())

    def _subjects(self, norm: str, found: Found) -> None:
        """Whom the application is for, when it is someone other than the user."""
        cues = self.roles.cues
        for m in self.subject_for_re.finditer(norm):
            found.note("subject", cues[m.group(1)], m.start(1), m.end(1), m.start(), raw=m.group(1))
        for m in self.subject_wants_re.finditer(norm):
            found.note("subject", cues[m.group(1)], m.start(1), m.end(1), m.start(), raw=m.group(1))
        for m in self.subject_is_re.finditer(norm):
            if not m.group(1).endswith(self.roles.applicant_side_words):
                found.note("subject", cues[m.group(2)], m.start(2), m.end(2), m.start(), raw=m.group(2))

    # -- values -----------------------------------------------------------------------------------------

    def _names(self, text: str, tokens: list[Token], found: Found) -> None:
        cues = self.roles.cues
        for word, tag, a, b in tokens:
            if tag != "PER":
                continue
            glued = [m.end() for m in self.roles.cue_re.finditer(text, max(0, a - 4), b) if m.start() < a < m.end()]
            if glued:  # LAC took a role word's last character into the name (卖方|文建华 read as 方文建华)
                a, word = glued[-1], text[glued[-1]:b]
            # a name introduced by 叫 runs to the end of its clause: LAC may cut a rare given name short (胡长|水)
            if len(word) == 2 and self.name_cue_before_re.search(text, 0, a) and _HAN_CHAR.match(text, b) \
                    and not _HAN_CHAR.match(text, b + 1) and looks_like_name(text[a:b + 1], cues) \
                    and not is_time_word(text[a:b + 1]):
                word, b = text[a:b + 1], b + 1
            if looks_like_name(word, cues) and not found.overlaps((a, b)) and not _FROM_PLACE_RE.match(text, b):
                found.add("name", word, a, b)
        # LAC misses some names; a cue like 我叫/名字是 plus a surname catches them.
        for m in self.name_cue_re.finditer(text):
            a = m.end()
            for n in (3, 2, 4):
                cand = text[a:a + n]
                nxt = text[a + n:a + n + 1]
                ends_well = not nxt or not re.match(r"[\u4e00-\u9fa5]", nxt) or nxt in "，。,的是"
                if looks_like_name(cand, cues) and ends_well and not found.overlaps((a, a + n)):
                    found.add("name", cand, a, a + n)
                    break
        for m in self.latin_name_re.finditer(text):
            if not found.overlaps(m.span("name")):
                found.add("name", m.group("name"), *m.span("name"))
        self._names_beside_numbers(text, tokens, found)
        self._names_after_numbers(text, tokens, found)
        self._names_after_relations(text, found)
        self._names_after_kin(text, tokens, found)

    def _names_after_relations(self, text: str, found: Found) -> None:
        """A name glued to what the user says they are, ending its clause ("我是她爹季长顺，…", "…我是她儿子桂林"):
        LAC may read it as a place or miss it; there it can only be the user's name."""
        cues = self.roles.cues
        for rel in [s for s in found.slots if s.type == "relation"]:
            # (我是 HR Manager 唐诗雨: a job title in Latin letters may go on before the name)
            title = _LATIN_WORDS.match(text, rel.end)
            for n in (3, 2):
                a = rel.end + (len(title.group(0)) if title else 0)
                b = a + n
                cand = text[a:b]
                if b <= len(text) and (b == len(text) or text[b] in _CLAUSE_ENDS) and looks_like_name(cand, cues) \
                        and not is_time_word(cand) and not found.overlaps((a, b)):
                    found.add("name", cand, a, b)
                    break

    def _names_after_kin(self, text: str, tokens: list[Token], found: Found) -> None:
        """A full name right after a family word of the user's (称我女儿任可欣大三, 我侄女华思琪): LAC may read a rare
        given name as a verb (任可欣); a word of its own of three characters starting with a surname, glued to the
        family word, is that person's name."""
        cues = self.roles.cues
        for m in self.own_kin_re.finditer(text):
            token = next((t for t in tokens if t.start == m.end()), None)
            if token is None or len(token.word) != 3 or token.tag not in _NAME_LIKE_TAGS:
                continue
            if looks_like_name(token.word, cues) and not is_time_word(token.word) \
                    and not found.overlaps((token.start, token.end)):
                found.add("name", token.word, token.start, token.end)

    def _names_beside_numbers(self, text: str, tokens: list[Token], found: Found) -> None:
        """A name said right before its ID number or phone, with no 叫 (LAC misses rare surnames): alone in its
        clause ("…，尚婉清，身份证…") or right after a person word ("孩子雷诺，…", "我是他爸爸房振东，电话…")."""
        cues = self.roles.cues
        numbers = [s for s in found.slots if s.type in ("id_number", "phone")]
        for number in numbers:
            gap = self.before_number_re.search(text, 0, number.start)
            end = gap.start() if gap else number.start
            for n in (3, 2, 4):
                a = end - n
                cand = text[max(a, 0):end]
                # the whole clause, then its number (…，谷雨，370…): a name, even if LAC reads a solar term
                alone = a >= 0 and _starts_clause(text, a) and text[end:end + 1] in _CLAUSE_ENDS \
                    and not is_time_word(cand)
                if a < 0 or not looks_like_name(cand, cues, alone) or found.overlaps((a, end)):
                    continue
                starts_clause = _starts_clause(text, a) or text[a - 1] in "：:"
                after_cue = not starts_clause and self.cue_end_re.search(text, max(0, a - 6), a)
                if (starts_clause or after_cue) and _one_word(tokens, a, end, glued_left=bool(after_cue),
                                                              time_ok=alone):
                    found.add("name", cand, a, end)
                    break

    def _names_after_numbers(self, text: str, tokens: list[Token], found: Found) -> None:
        """A name said bare right after the user's numbers, the whole of its clause ("370403 2003 0918 4890
        137 7959 0030  高一鸣"): a surname and one or two characters LAC does not read as other words."""
        cues, compound = self.roles.cues, surname_data().compound
        for number in [s for s in found.slots if s.type in ("id_number", "phone")]:
            gap = _AFTER_NUMBER.match(text, number.end)
            a = gap.end() if gap else len(text)
            for n in (3, 2, 4):
                b = a + n
                cand = text[a:b]
                if b > len(text) or b < len(text) and text[b] not in _CLAUSE_ENDS or found.overlaps((a, b)):
                    continue
                if n == 4 and not cand.startswith(tuple(compound)):
                    continue  # four characters: only with a compound surname (欧阳明远)
                if looks_like_name(cand, cues, alone=True) and not is_time_word(cand) and _bare_name(tokens, a, b):
                    found.add("name", cand, a, b)
                    break

    @staticmethod
    def _dates(text: str, today: dt.date, found: Found) -> None:
        for p in DATE_PATTERNS:
            for m in p.pattern.finditer(text):
                a, b = m.span()
                a += len(m.group(0)) - len(m.group(0).lstrip())
                if found.overlaps((a, b)):
                    continue
                if p.calendar and not (m.group("y") or m.group("yp") or m.group("suffix")):
                    continue  # "3.5" or "8-3" without a year or 日/号 is not a date
                if p.calendar and not m.group("y") and "月" not in m.group(0):
                    continue
                day = p.resolve(m, today)
                if day:
                    found.add("date", day.isoformat(), a, b)

    def _money(self, text: str, found: Found) -> None:
        for m in _MONEY_RE.finditer(text):
            a, b = m.span()
            raw = m.group(0).strip()
            if not raw or found.overlaps((a, b)) or not re.search(r"\d|[一二两三四五六七八九十]", m.group("num")):
                continue
            a += len(m.group(0)) - len(m.group(0).lstrip())
            if not self._is_money(text, m, a, raw):
                continue
            amount = parse_money(raw)
            if amount is not None:
                found.add("money", format_money(amount), a, b)

    def _is_money(self, text: str, m: re.Match, a: int, raw: str) -> bool:
        before = text[max(sentence_start(text, a), a - 8):a]
        has_currency = bool(m.group("cur") or m.group("unit"))
        has_big_unit = bool(re.search(r"[亿万千]", m.group("num")))
        whole = raw == text.strip()  # the reply is just an amount: "50万"
        if not (has_currency or whole and has_big_unit
                or (self.money_cue.search(before) and (has_big_unit or m.group("num")[0].isdigit()))):
            return False
        b = m.end()
        if text[b:b + 1] in ("年", "月", "日", "号", "岁", "人", "个", "天") or re.fullmatch(r"[十百千万亿]", m.group("num")):
            return False
        # 一块办 = together
        return not (m.group("unit") == "块" and m.group("num") in ("一", "1") and not m.group("cur"))

    @staticmethod
    def _ints(text: str, found: Found) -> None:
        bare = re.fullmatch(rf"\s*(\d+|[{CN_NUM}]+)\s*", text)
        if bare and not found.overlaps(bare.span(1)) and cn_int(bare.group(1)) is not None:
            found.add("int", str(cn_int(bare.group(1))), *bare.span(1))  # the reply is just a number
        for m in _INT_RE.finditer(text):
            a, b = m.span()
            if found.overlaps((a, b)):
                continue
            if m.group("num") == "一" and m.group("unit") in ("个", "家", "次", "张", "份", "只", "条", "位", "名"):
                continue  # 一个/一家 is an article, not a count
            n = cn_int(m.group("num"))
            if n is not None:
                found.add("int", str(n), a, b)


_CLAUSE_ENDS = " \t，,。.；;！!？?、"
_LATIN_WORDS = re.compile(r"(?:\s*[A-Za-z]+)+\s*")
# LAC's tags a rare name may come as: a person, or a verb or other word it does not know (任可欣 as a verb)
_NAME_LIKE_TAGS = frozenset({"PER", "v", "nz", "ORG", "a", "vd", "ad"})
_AFTER_NUMBER = re.compile(r"[\s，,、]+")
# LAC's tags for what a name is never made of: a pronoun, adverb, preposition, conjunction, particle, punctuation
# (谢谢您, 尽快, 方便吗); a verb or adjective of two characters or more is a word too (谢谢, 感谢).
_NOT_IN_NAME_TAGS = frozenset({"r", "d", "p", "c", "u", "xc", "w", "m", "q", "LOC", "TIME"})
_WORD_TAGS = frozenset({"v", "vd", "vn", "a", "ad", "an"})


# "…，荣成的。": where the user is from, which LAC may read as a name; a person's name does not end a clause so.
_FROM_PLACE_RE = re.compile(r"的(?:人)?(?:[，,。.；;！!？?\s]|$)")


def _said_just_before(text: str, at: int, said_of_me: dict[tuple[int, int], str]) -> str | None:
    """What the user said they are, when it ends right before ``at`` in the same words ("我是公司行政负责人计红": 负责人
    goes on 行政)."""
    for (a, b), role in said_of_me.items():
        if b <= at and at - b <= 4 and re.fullmatch(r"[\u4e00-\u9fa5]*", text[b:at]):
            return role
    return None


def _labels(text: str, cue: re.Match | None, at: int, said_of_me: dict[tuple[int, int], str]) -> bool:
    """The cue names the person at ``at``: only spaces between them ("儿子 葛欣然"), or it is what the user just
    said they are ("我是她丈夫，房振东")."""
    return cue is not None and (not text[cue.end():at].strip() or cue.span() in said_of_me)


def _bare_name(tokens: list[Token], a: int, b: int) -> bool:
    """LAC reads the span as a person, or as pieces none of which is a word a name cannot hold: not one other
    word (社保, 文件), no pronoun, particle or place, no verb of two characters (高一|鸣 is a name, 谢谢|您 not)."""
    inside = [t for t in tokens if a < t.end and t.start < b]
    if any(t.tag == "PER" and t.start <= a and b <= t.end for t in inside):
        return True
    if len(inside) == 1 and inside[0].start == a and inside[0].end == b and inside[0].tag != "ORG":
        return False
    return not any(t.start < a or t.end > b or t.tag in _NOT_IN_NAME_TAGS
                   or t.tag in _WORD_TAGS and len(t.word) > 1 for t in inside)


def _starts_clause(text: str, at: int) -> bool:
    return at == 0 or text[at - 1] in _CLAUSE_ENDS


def _one_word(tokens: list[Token], a: int, b: int, glued_left: bool = False, time_ok: bool = False) -> bool:
    """No word of LAC's crosses the span's end (or its start, unless a person word is glued to it there: 奶奶曲|金凤),
    and none in it is a place or a time (高新区, 明天; ``time_ok``: a time tag does not count). LAC's ORG is kept:
    it tags rare names so (雷诺)."""
    for t in tokens:
        if t.start < b < t.end or (not glued_left and t.start < a < t.end):
            return False
        if a < t.end and t.start < b and (t.tag == "LOC" or t.tag == "TIME" and not time_ok):
            return False
    return True


@functools.cache
def default_slot_extractor() -> SlotExtractor:
    """The extractor over the shipped words, with one LAC for the process (~0.4 s to load, ~100 MB)."""
    return SlotExtractor()
