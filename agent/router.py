"""Router, run once a turn: 一句话办事 — a message to a scenario, matter, FAQ or catalogue matter, or one question
asking which. Generic over the corpus: no code branch names a scenario or matter."""
from __future__ import annotations

import functools
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from agent.actions import action_words
from agent.forms.vocabulary import load_role_words
from agent.normalize import Message, Normalizer
from agent.reply import ClarifyOption, Route
from agent.session import PendingClarify, SessionState
from corpus.datafile import load_data_file
from index.text import normalize
from index.units import document_units, is_vocabulary
from index.types import SearchFilters

if TYPE_CHECKING:
    from agent.evidence import Sentence
    from agent.guides import GuideClassifier
    from corpus.loader import Corpus
    from index.types import Hit

DATA_DIR = Path(__file__).parent / "data"
# Words that start a follow-up about what was just discussed.
_FOLLOWUP_START = re.compile(r"^(那|那么|那个|这个|还有|另外|它|其中|然后|再问|如果|要是)")
_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
_ORDINAL_RE = re.compile(r"(?:第\s*([一二两三四五12345])\s*(?:个|项|种|条)?|^([12345一二三四五])(?:[.、．]|$))")


class GenericWords(BaseModel):
    """``data/generic.yaml``: wording too generic to route on."""

    min_title_df: int = 10
    single_word_min_title_df: int = 3
    words: list[str]
    objects: list[str] = []
    empty: list[str] = []
    asking: list[str] = []
    frames: list[str] = []
    contact: list[str] = []
    unspecified: list[str] = []  # the speaker says which one is not known (未说明具体事项, 说不清是啥事)
    back_references: list[str] = []  # a later message points back at the service in hand (办这个要钱吗)


def _dictionary_tag(word: str) -> str | None:
    """The part of speech jieba's own dictionary gives ``word`` (None when it does not list it)."""
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab.get(word)


class PeopleWords:
    """Words that only say who a person is and how to reach them: the persons' role words (孙子, 网格员; agent/data/
    roles.yaml), where one works (…社区, …公司) and the contact words (电话, 姓名; generic.yaml)."""

    def __init__(self, persons: set[str], workplaces: list[str]):
        self.persons = frozenset(persons)
        self.workplaces = frozenset(workplaces)
        self._endings = tuple(w for w in workplaces if len(w) >= 2)  # …社区, …公司: one character (厂, 村) is too short

    @classmethod
    def load(cls) -> "PeopleWords":
        roles = load_role_words()
        contact = load_data_file(DATA_DIR / "generic.yaml", GenericWords).contact
        persons = {normalize(w) for role, ws in roles.cues.items() if role not in roles.not_persons for w in ws}
        return cls(persons | {normalize(w) for w in contact}, [normalize(w) for w in roles.workplace_endings])

    def __call__(self, word: str) -> bool:
        """A person's word, a contact word or a workplace (…社区, 公司)."""
        return self.person(word) or word in self.workplaces or word.endswith(self._endings)

    def person(self, word: str) -> bool:
        """A word for a person (孙子, 网格员) or for how to reach them (电话, 姓名): not where they work, which says
        what kind of applicant they are (公司)."""
        return word in self.persons


class RouteReason(str, Enum):
    """Why the router decided as it did."""

    PICKED_OPTION = "picked a clarify option"
    FOLLOWUP_NO_TOPIC = "follow-up without a new topic"
    FOLLOWUP = "follow-up on the current route"
    FOLLOWUP_HOLDER = "follow-up answered by a neighbour of the current route that holds what it asks"
    NAMED = "title or alias named"
    GENERIC = "generic wording"
    NO_MATCH = "no confident match"
    INTRODUCTION = "only who the people are, with their data"
    CLOSE = "close candidates"
    TOP_HIT = "top hit"


def pick_option(msg: Message, options: list[ClarifyOption], keywords: dict[str, list[str]] | None = None) -> str | None:
    """The option a reply picks: by number (第二个, 2), by id, by title, or by one of its keywords."""
    text = msg.text
    m = _ORDINAL_RE.search(msg.raw.strip())
    if m:
        n = _ORDINALS.get(m.group(1) or m.group(2) or "")
        if n and 1 <= n <= len(options):
            return options[n - 1].id
    for o in options:
        if o.id.lower() == text.strip():
            return o.id
    matches = []
    for o in options:
        title = normalize(o.title)
        words = [normalize(k) for k in (keywords or {}).get(o.id, [])]
        if title and (title in text or (len(text) >= 2 and text in title)):
            matches.append((len(title) + 100, o.id))
        elif any(w and w in text for w in words):
            matches.append((max(len(w) for w in words if w in text), o.id))
    if matches:
        matches.sort(reverse=True)
        if len(matches) == 1 or matches[0][0] > matches[1][0]:
            return matches[0][1]
    # Best token overlap with a title, when it is unique.
    scored = []
    for o in options:
        title = normalize(o.title)
        overlap = sum(len(t) for t in msg.tokens if len(t) >= 2 and t in title)
        if overlap:
            scored.append((overlap, o.id))
    scored.sort(reverse=True)
    if scored and (len(scored) == 1 or scored[0][0] > scored[1][0]):
        return scored[0][1]
    return None


_BARE_LEFTOVER = re.compile(r"[\W_个项种条的吧呀啊吗嘛就是这那选要]*")


def only_picks(msg: Message, options: list[ClarifyOption]) -> bool:
    """The message is an option and nothing more (a clicked button, 第二个, 2): it carries no wish of its own,
    so it means what the question it answers was asked for."""
    if pick_option(msg, options) is None:
        return False
    text = normalize(_ORDINAL_RE.sub("", msg.raw.strip()))
    for o in sorted(options, key=lambda o: -len(o.title)):
        text = text.replace(normalize(o.title), "")
    return _BARE_LEFTOVER.fullmatch(text) is not None


_PLACE_LEVEL = re.compile(r".+?(?:自治区|自治州|特别行政区|省|市|州|盟|地区|区|县|旗)")
_PLACE_SEP = re.compile(r"\s{2,}")


@functools.lru_cache(maxsize=64)
def place_names(region: str) -> re.Pattern:
    """The names a region goes by, each level with and without its suffix (四川省广安市广安区 -> 广安区, 广安, 四川…)."""
    names = set()
    for m in _PLACE_LEVEL.finditer(region):
        level = m.group(0)
        names.add(level)
        for suffix in ("自治区", "自治州", "特别行政区", "省", "市", "州", "盟", "地区", "区", "县", "旗"):
            if level.endswith(suffix) and len(level) - len(suffix) >= 2:
                names.add(level[: -len(suffix)])
                break
    names = names or {region}
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


@dataclass
class RouteDecision:
    route: Route | None = None
    hits: list["Hit"] = field(default_factory=list)
    clarify: PendingClarify | None = None
    followup: bool = False       # the message continues the session's current route
    switched: bool = False       # a new topic replaced the session's route
    no_match: bool = False
    reason: RouteReason = RouteReason.NO_MATCH
    faq: str | None = None       # the standalone FAQ that answers the message; the route is its guide
    held: "Sentence | None" = None  # the sentence a follow-up moved the route for (agent/followup.py)


# The general dictionary's tags of a thing named (名词, 其他专名, 名动词): 叉车, 面包车. A person's name (nr), a place
# (ns) or a pronoun is no service, and filler is no noun.
THING_TAGS = frozenset({"n", "nz", "vn"})
GUIDE_WORD_DF = 3  # guides whose text uses a word for it to name something our services know


class Router:
    """一句话办事: route a message to a scenario, matter, FAQ or catalogue matter, or ask which one.

    Signals, in order: a pending clarify the message answers; a follow-up to the
    current route; a document title or alias named in the message; generic
    wording (every topic word is shared by many titles) or close candidates ->
    clarify; else the top confident hit."""

    def __init__(self, corpus: "Corpus", retriever, normalizer: Normalizer, k: int = 8,
                 close_margin: float = 0.03, max_options: int = 5, neighbour_margin: float = 0.3,
                 guides: "GuideClassifier | None" = None, guide_margin: float = 0.0, guide_weight: float = 1.0,
                 guide_floor: float = 0.1, guide_reach: float = 0.5, named_guide_margin: float = 0.2,
                 named_score_margin: float = 0.1, people: "PeopleWords | None" = None):
        """``guides``: the learned classifier that chooses among confident neighbours (agent/guides.py), by at
        least ``guide_margin`` of its decision value. Further down retrieval's list (a hit scoring at least
        ``guide_floor``, within ``guide_reach`` of the top, confident or not) a guide wins when its score plus
        ``guide_weight`` times its decision value beats the choice's. A name said in the message gives way when
        retrieval's confident top stands ``named_score_margin`` above it and the classifier prefers that top by
        ``named_guide_margin``: two readers of the whole message agree that the name is context."""
        generic = load_data_file(DATA_DIR / "generic.yaml", GenericWords)
        self.generic_words = {normalize(w) for w in generic.words}
        self.generic_df = generic.min_title_df
        self.single_word_df = generic.single_word_min_title_df
        self.object_words = sorted({normalize(w) for w in generic.objects}, key=len, reverse=True)
        self.asking_verbs = [normalize(w) for w in generic.asking]
        self.frame_words = {normalize(w) for w in generic.frames}
        self.unspecified = [normalize(w) for w in generic.unspecified]
        self.back_references = [normalize(w) for w in generic.back_references]
        # Who the speaker is and how to reach them (我是…社区的网格员, 孩子的信息, 我婆婆): with personal data and
        # nothing else, a message introduces people and asks for no service.
        self.people = people if people is not None else PeopleWords.load()

        self.corpus = corpus
        self.retriever = retriever
        self.guides = guides
        self.guide_margin = guide_margin
        self.guide_weight = guide_weight
        self.guide_floor = guide_floor
        self.guide_reach = guide_reach
        self.named_guide_margin = named_guide_margin
        self.named_score_margin = named_score_margin
        self.normalizer = normalizer
        self.k = k
        self.close_margin = close_margin
        self.neighbour_margin = neighbour_margin
        self.max_options = max_options
        # Names a user may type for each routable document, longest first.
        self.names: list[tuple[str, str]] = []
        for doc in corpus.documents():
            if doc.kind == "faq":
                continue
            for name in [doc.title, *getattr(doc, "aliases", [])]:
                n = normalize(name)
                if len(n) >= 3:
                    self.names.append((n, doc.id))
        self.names.sort(key=lambda x: -len(x[0]))
        self.region_of = {d.id: d.region for d in corpus.documents()}
        self._title_text = {d.id: normalize(" ".join([d.title, *getattr(d, "aliases", [])])) for d in corpus.documents()}
        self._titles = [(self._title_text[d.id], d.id) for d in corpus.documents() if d.kind != "faq"]
        # A scan of every title (3 ms on the full corpus), asked a few times a turn for the same everyday words.
        self.title_df = functools.lru_cache(maxsize=8192)(self._title_df)
        self.abbreviates_title = functools.lru_cache(maxsize=8192)(self._abbreviates)
        self.members: dict[str, set[str]] = {s.id: {m.matter for m in s.members} for s in corpus.scenarios.values()}
        self.bundles: dict[str, list[str]] = {}  # a matter's 一件事, by id
        for scenario_id, matters in sorted(self.members.items()):
            for matter in matters:
                self.bundles.setdefault(matter, []).append(scenario_id)
        self._title_words = {d.id: set(normalizer.tokenizer.tokenize(d.title)) for d in corpus.documents()
                             if d.kind in ("scenario", "matter")}
        empty = {normalize(w) for w in generic.empty}
        self.action_forms = {normalize(w): [normalize(f) for f in forms] for w, forms in action_words().actions.items()}
        # An action said without its object (丢了, 注销, 迁到) names no service on its own.
        self.bare_actions = {*self.action_forms, *(f for forms in self.action_forms.values() for f in forms)}
        # What a title says beyond its empty words (申请, 县级), for telling neighbours apart (catalogue matters too).
        self._own_words = {d.id: {t for t in normalizer.tokenizer.tokenize(d.title)
                                  if len(t) >= 2 and not t.isdigit() and normalize(t) not in empty}
                           for d in corpus.documents() if d.kind != "faq"}
        self._known_words: tuple[frozenset[str], frozenset[str]] | None = None
        self._known_words_lock = threading.Lock()
        self.situation_words: dict[str, set[str]] = {
            s.id: {normalize(k) for q in s.questions for o in q.options for k in o.keywords if len(k) >= 2}
            for s in corpus.scenarios.values()}

    # -- helpers ----------------------------------------------------------------------------------
    def route_of(self, doc_id: str, score: float = 1.0) -> Route | None:
        doc = self.corpus.get(doc_id)
        if doc is None:
            return None
        return Route(kind=doc.kind, id=doc.id, title=doc.title, region=doc.region, score=round(float(score), 4))

    def named_docs(self, msg: Message, region: str | None = None) -> list[str]:
        """Documents whose full title or alias appears in the message (longest name first)."""
        out: list[str] = []
        text = msg.text
        for name, doc_id in self.names:
            if name in text and doc_id not in out and (region is None or self.region_of.get(doc_id) == region):
                # a shorter name inside an already-matched longer one is the same mention
                out.append(doc_id)
        return out

    def _title_df(self, *words: str) -> int:
        """How many titles (with their aliases) hold all these words (``title_df``, cached)."""
        return sum(1 for t, _ in self._titles if all(w in t for w in words))

    def is_generic(self, msg: Message, topic: list[str]) -> bool:
        """Generic: no topic word, or every topic word appears in many titles (我想办个证, 我要提取)."""
        # A word no guide and no title uses (俺寻思, 个证, 咋交嘞, my card) is the way of speaking, not a detail of
        # a service: it does not make a vague message specific. Kept when nothing else is (红烧肉 is no service).
        known = [t for t in topic if self._known_to_guides(t)]
        topic = known or topic
        if any(w in msg.text for w in self.unspecified):
            return True  # 来电人咨询户口迁移…未说明迁移原因: the message itself says which is left open
        if len(topic) == 1 and self.title_df(topic[0]) >= self.single_word_df:
            return True  # one bare word that several services share: 社保, 公积金, 过户
        # 怎么办, 咋弄 ask how, not what (the one-word rule above keeps them: 社保卡丢了怎么办 lost its 丢了 to the
        # tokenizer, and is not the bare 社保卡)
        topic = [t for t in topic if t not in self.frame_words]
        if not topic:
            return True
        # one shared word and a way of asking how (社保卡咋整), with no action said the everyday way (社保卡丢了怎么办
        # says 丢了): which of that word's services is meant
        if len(topic) == 1 and self.title_df(topic[0]) >= self.single_word_df \
                and not any(f in msg.text for forms in self.action_forms.values() for f in forms):
            return True
        if all(t in self.generic_words or t in self.bare_actions for t in topic):
            return True  # 证件丢了怎么办, 注销咋办: an action, no object
        # two words that many titles share (办个 + 许可证), unless only one title holds both (公积金 + 提取 ->
        # 住房公积金提取); three or more words say enough to search on
        return len(topic) <= 2 and all(t in self.generic_words or self.title_df(t) >= self.generic_df for t in topic) \
            and self.title_df(*topic) != 1

    def names_only_an_action(self, msg: Message) -> bool:
        """The message says one of our actions and nothing else to route on (怎么迁过去, 注销咋办): it asks which
        service, whatever else it looks like."""
        topic = [t for t in self.normalizer.topic_tokens(msg) if t not in self.frame_words]
        return bool(topic) and any(t in self.bare_actions for t in topic) \
            and all(t in self.bare_actions or t in self.generic_words for t in topic)

    def service_words(self, msg: Message) -> list[str]:
        """The message's topic words that some service title or alias holds, or that several guides' texts use,
        besides the generic words every service shares (办理, 申请, 证明): none at all (快递, 装修, 红烧肉) means it
        speaks of nothing our guides know; 人脸识别 is in many guides' steps even where no title names it."""
        common = self._guide_words()
        return [t for t in self.normalizer.topic_tokens(msg) if t not in self.generic_words
                and (self.title_df(t) >= 1 or t in common)]

    def warm(self) -> None:
        """Read the guides' words and fit the guide classifier now (a few seconds each over the whole corpus), not
        on the first turn that needs them."""
        self._guide_words()
        _dictionary_tag("")  # jieba's part-of-speech table, read on import
        if self.guides is not None:
            self.guides.warm()

    def _guide_words(self) -> frozenset[str]:
        """The words at least GUIDE_WORD_DF guides use, read once (a second reader waits for the first)."""
        return self._vocabulary()[0]

    def _vocabulary(self) -> tuple[frozenset[str], frozenset[str]]:
        """(the words at least GUIDE_WORD_DF guides use, the words any guide uses), read once."""
        with self._known_words_lock:
            if self._known_words is None:
                df: Counter[str] = Counter()
                for d in self.corpus.documents():
                    if d.kind in ("scenario", "matter"):
                        df.update({t for u in document_units(d) if is_vocabulary(u.section)
                                   for t in self.normalizer.tokenizer.tokenize(u.text)})
                self._known_words = (frozenset(t for t, n in df.items() if n >= GUIDE_WORD_DF), frozenset(df))
            return self._known_words

    def _known_to_guides(self, word: str) -> bool:
        """A word some title or guide uses, one that sounds like a word of theirs (身分证, a homophone typo), a
        short form of a title's words (公墓 of 公共墓地, 出租车 of 出租汽车), or a thing the general dictionary
        knows (叉车证: what the person has, though no title names it)."""
        pinyin = self.normalizer.pinyin
        return word in self.generic_words or word in self.frame_words or word in self.bare_actions \
            or self.title_df(word) >= 1 or word in self._vocabulary()[1] \
            or (pinyin is not None and pinyin.sounds_known(word)) or self.abbreviates_title(word) \
            or _dictionary_tag(word) in THING_TAGS

    def _abbreviates(self, word: str) -> bool:
        """The word's characters stand in a title in order, close together, as a Chinese short form takes them."""
        if len(word) < 2 or not re.fullmatch(r"[\u4e00-\u9fa5]+", word):
            return False
        pattern = re.compile(".{0,2}".join(re.escape(c) for c in word))
        return any(pattern.search(title) for title, _ in self._titles)

    def in_title(self, doc_id: str, word: str) -> bool:
        """The word is in the document's title or one of its aliases."""
        return word in self._title_text.get(doc_id, "")

    def answers_situation(self, scenario_id: str, msg: Message) -> bool:
        """The message says a keyword of the scenario's 情形 options as a word of its own: 租房 in 我们租房住, not
        inside another word (廉租房 is a service of its own)."""
        words = self.situation_words.get(scenario_id, ())
        if not any(k in msg.text for k in words):
            return False
        bounds, at = {0}, 0
        for w in self.normalizer.tokenizer.cut(msg.text):
            at += len(w)
            bounds.add(at)
        return any(m.start() in bounds and m.end() in bounds
                   for k in words for m in re.finditer(re.escape(k), msg.text))

    def part_of(self, current_id: str, doc_id: str) -> bool:
        """doc_id is a member matter of the current scenario, or an FAQ about it or one of its members."""
        if self.related(current_id, doc_id):
            return True
        faq = self.corpus.faqs.get(doc_id)
        if faq is None:
            return False
        scope = {current_id} | self.members.get(current_id, set())
        return any(r in scope for r in faq.related)

    def related(self, a: str, b: str) -> bool:
        """A scenario and one of its member matters answer the same need."""
        return b in self.members.get(a, set()) or a in self.members.get(b, set())

    def search(self, text: str, region: str | None) -> list["Hit"]:
        """The top hits in ``region``. The region's own place names (在广安区…) are left out of what is searched:
        the filter already says where, and as words they pull towards guides that speak of places (异地办理)."""
        if not text.strip():
            return []  # personal values and nothing else: nothing to search
        if region:
            text = _PLACE_SEP.sub(" ", place_names(region).sub("", text)).strip() or text
        return self.retriever.search(text, k=self.k, filters=SearchFilters(region=region) if region else None)

    def options_from(self, hits: list["Hit"], topic: list[str]) -> list["Hit"]:
        """Distinct candidates for a clarify question: hits sharing a topic word first, then by score."""
        seen, out = set(), []
        def key(h: "Hit") -> tuple:
            shared = any(t in h.title for t in topic)
            return (not shared, -h.score)
        for h in sorted(hits, key=key):
            if h.doc_id in seen or h.kind == "faq":
                continue
            seen.add(h.doc_id)
            out.append(h)
            if len(out) == self.max_options:
                break
        return out

    def object_routes(self, msg: Message, region: str | None) -> list[Route]:
        """Services whose title names the kind of thing a generic message asks for (证 -> 居住证办理,
        居民身份证…), plainest (shortest) title first. A title word must end with it: 证明 is not a 证."""
        word = next((w for w in self.object_words if any(t.endswith(w) for t in msg.tokens)), None)
        if word is None:
            return []
        ids = [i for i, words in self._title_words.items()
               if any(t.endswith(word) for t in words) and (region is None or self.region_of.get(i) == region)]
        docs = sorted((self.corpus.get(i) for i in ids), key=lambda d: (len(d.title), d.id))
        return [Route(kind=d.kind, id=d.id, title=d.title, region=d.region, score=0.0) for d in docs]

    def action_routes(self, msg: Message, region: str | None) -> list[Route]:
        """Services whose title holds the one action a generic message says (过户怎么弄 -> 燃气过户, 用电过户…),
        plainest title first: retrieval alone ranks whatever else shares the message's few words."""
        said = [t for t in self.normalizer.topic_tokens(msg) if t in self.action_forms]
        if len(said) != 1:
            return []
        docs = [self.corpus.get(i) for i in self._title_words if region is None or self.region_of.get(i) == region]
        docs = sorted((d for d in docs if said[0] in normalize(d.title)), key=lambda d: (len(d.title), d.id))
        return [Route(kind=d.kind, id=d.id, title=d.title, region=d.region, score=0.0) for d in docs]

    def clarify(self, hits: list["Hit"], topic: list[str], question: str,
                named_kind: list[Route] | None = None) -> PendingClarify | None:
        if named_kind and len(named_kind) >= 2:
            # The message names a kind of thing: the services of that kind, the hits naming it first.
            kind_ids = {r.id for r in named_kind}
            first = [self.route_of(h.doc_id, h.score) for h in hits if h.doc_id in kind_ids]
            routes = list({r.id: r for r in [*first, *named_kind] if r is not None}.values())[: self.max_options]
        else:
            routes = [Route(kind=h.kind, id=h.doc_id, title=h.title, region=h.region, score=h.score)
                      for h in self.options_from(hits, topic)]
        if len(routes) < 2:
            return None
        return PendingClarify(kind="route", question=question,
                              options=[ClarifyOption(id=r.id, title=r.title) for r in routes], routes=routes)

    def starters(self, region: str | None) -> PendingClarify | None:
        """For a message with no topic at all (我想办点事): the region's most-asked 一件事, by how many
        ways of asking them the corpus records."""
        docs = [d for d in self.corpus.scenarios.values() if not region or d.region == region]
        docs.sort(key=lambda d: (-len(d.sample_questions), d.id))
        if len(docs) < 2:
            return None
        docs = docs[: self.max_options]
        return PendingClarify(
            kind="route", question="您想办理哪一类事情？请回复序号或名称，也可以直接描述您的情况。",
            options=[ClarifyOption(id=d.id, title=d.title) for d in docs],
            routes=[Route(kind="scenario", id=d.id, title=d.title, region=d.region, score=0.0) for d in docs])

    # -- the decision -----------------------------------------------------------------------------
    def run(self, msg: Message, session: SessionState, region: str | None,
            hits: list["Hit"] | None = None) -> RouteDecision:
        """``hits``: this message's search results when the turn already has them (the router searches once)."""
        pending = session.pending
        if pending and pending.kind == "route":
            picked = pick_option(msg, pending.options)
            # a message naming a service none of the options is asks for that service, whatever words it shares
            # with an option's title (协议离婚，想预约登记 is no pick of 二手房转移登记…)
            if picked and not self._names_other(msg, pending, region):
                route = next(r for r in pending.routes if r.id == picked)
                return RouteDecision(route=route, reason=RouteReason.PICKED_OPTION, switched=True)

        topic = self.normalizer.topic_tokens(msg)
        named = self.named_docs(msg, region)
        if topic or named or not session.route:
            hits = hits if hits is not None else self.search(msg.search_text, region)
        else:
            hits = []
        current = session.route
        if current is not None:
            followup = self._followup(msg, current, topic, named, hits)
            if followup is not None:
                return RouteDecision(route=current, hits=hits, followup=True, reason=followup)
        doc_id = self._named_choice(named, topic, hits) if named else None
        if doc_id is not None and not self._in_passing(doc_id, hits, msg):
            hit = next((h for h in hits if h.doc_id == doc_id), None)
            return RouteDecision(route=self.route_of(doc_id, hit.score if hit else 1.0), hits=hits,
                                 switched=current is not None and current.id != doc_id, reason=RouteReason.NAMED)
        if current is None and self.introduces_only(msg):
            return RouteDecision(hits=hits, no_match=True, reason=RouteReason.INTRODUCTION)
        return self._by_retrieval(msg, topic, hits, region, current)

    def introduces_only(self, msg: Message) -> bool:
        """Personal data, and besides it only who the people are (孩子, 我婆婆, 网格员) and where they work (…社区):
        whatever retrieval finds in those words (a 网格员 in 特困人员's steps), no service is asked for yet. The data
        is kept until the message that names one (agent/pipeline.py, ``_holds``)."""
        if not msg.has_personal_data:
            return False
        return all(self.people(w) for w in self.service_words(msg))

    def _followup(self, msg: Message, current: Route, topic: list[str], named: list[str],
                  hits: list["Hit"]) -> RouteReason | None:
        """Stay on the current route when there is no new topic, or nothing clearly better than it."""
        top = hits[0] if hits else None
        cur_hit = next((h for h in hits if h.doc_id == current.id), None)
        other_named = [d for d in named if d != current.id]
        if msg.switched and topic:
            return None  # the topic so far set aside (先不说这个了，…) for another: read like a first message
        if (not named and self.is_generic(msg, topic)) or (msg.has_personal_data and not other_named) \
                or (named and not other_named):
            return RouteReason.FOLLOWUP_NO_TOPIC
        if other_named:
            return None
        if any(w in msg.text for w in self.back_references):
            return RouteReason.FOLLOWUP  # 办这个要钱吗: about the service in hand, whatever retrieval finds
        # Words no title uses (拿到, 第一次, 交钱) do not name a new service; nor does an answer to
        # the current scenario's 情形 question, nor a hit that is part of the current route.
        topical = [t for t in topic if t not in self.generic_words and self.title_df(t) >= 1]  # not 一件, 申请
        if not topical or self.answers_situation(current.id, msg) or (
                top is not None and self.part_of(current.id, top.doc_id)):
            return RouteReason.FOLLOWUP
        # Retrieval alone is weak evidence on a short follow-up: 第一次办要交钱吗 after 居住证 finds
        # 社会保障卡申领 by its 首次申领 fee, yet names nothing of it. A new topic shows in the new title.
        if top is not None and len(topic) <= 2 and not any(t in self._title_text.get(top.doc_id, "") for t in topical):
            return RouteReason.FOLLOWUP
        starts_followup = bool(_FOLLOWUP_START.match(msg.text))
        if (top is None or not top.confident or top.doc_id == current.id
                or (cur_hit is not None and top.score - cur_hit.score < 0.1)
                or (starts_followup and top.score < 0.9)):
            return RouteReason.FOLLOWUP
        return None

    def _names_other(self, msg: Message, pending: PendingClarify, region: str | None) -> bool:
        """The message names a service that is none of the pending question's options nor bundled with one."""
        options = {o.id for o in pending.options}
        return any(d not in options and not any(self.related(d, o) for o in options)
                   for d in self.named_docs(msg, region))

    def _in_passing(self, doc_id: str, hits: list["Hit"], msg: Message) -> bool:
        """A name said in passing (家里吃低保, 工伤认定书下来了, 公积金贷款想提前还): retrieval, which reads the whole
        message, ranks a confident guide a neighbour margin above the named one, which it is not confident of, and
        that guide is neither the named one's 一件事 or member nor a FAQ about it: the message asks for that guide."""
        top = next((h for h in hits if h.confident), None)
        if top is None or top.doc_id == doc_id or self.related(top.doc_id, doc_id) or self.part_of(doc_id, top.doc_id):
            return False
        if self._agree_past(doc_id, top, hits, msg):
            return True
        # the name as the object of an asking verb (得先办居住证, 申请低保) is what is asked for, whatever retrieval ranks
        verbs, text = tuple(self.asking_verbs), msg.text
        if verbs and any(n.startswith(verbs) or any(text.endswith(verbs, 0, m.start()) for m in re.finditer(re.escape(n), text))
                         for n, d in self.names if d == doc_id and n in text):
            return False
        named = next((h for h in hits if h.doc_id == doc_id), None)
        if named is not None and named.confident:
            return False
        return top.score - (named.score if named is not None else 0.0) >= self.neighbour_margin

    def _agree_past(self, doc_id: str, top: "Hit", hits: list["Hit"], msg: Message) -> bool:
        """Retrieval's confident top guide stands clearly above the named one and the learned classifier, which
        reads the whole message too, clearly prefers it (教师资格认定的体检 names 教师资格认定; 公积金贷款想提前还
        names 公积金贷款): the name is what the message is about, not what it asks for. Either reader alone is not
        enough: retrieval ranks long stories by their context words, the classifier alone never routes."""
        if self.guides is None or top.kind not in ("scenario", "matter"):
            return False
        named = next((h for h in hits if h.doc_id == doc_id), None)
        if top.score - (named.score if named is not None else 0.0) < self.named_score_margin:
            return False
        scores = self.guides.scores(msg.search_text, [top.doc_id, doc_id])
        return len(scores) == 2 and scores[top.doc_id] - scores[doc_id] >= self.named_guide_margin

    def _named_choice(self, named: list[str], topic: list[str], hits: list["Hit"]) -> str:
        """The longest name wins, unless the message says more than that matter and the top hit is
        a scenario bundling it (宝宝出生了上户口办医保怎么一起办 -> the 一件事, not the 医保 matter)."""
        doc_id = named[0]
        top = hits[0] if hits else None
        if self.corpus.catalog.get(doc_id) is not None:
            # A full guide whose title holds the catalogue entry's name is the better answer.
            name = next(n for n, d in self.names if d == doc_id)
            guide = next((h for h in hits if h.confident and h.kind in ("scenario", "matter")
                          and name in normalize(h.title)), None)
            if guide is not None:
                doc_id = guide.doc_id
        if top is not None and top.kind == "scenario" and top.confident and doc_id in self.members.get(top.doc_id, ()):
            names = [n for n, d in self.names if d == doc_id]
            uncovered = [t for t in topic if not any(t in n for n in names)]
            if len(uncovered) >= 2:
                doc_id = top.doc_id
        return doc_id

    def _by_retrieval(self, msg: Message, topic: list[str], hits: list["Hit"], region: str | None,
                      current: Route | None) -> RouteDecision:
        confident = [h for h in hits if h.confident]
        if self.is_generic(msg, topic):
            pc = self.clarify([h for h in hits if h.score > 0.05] or hits, topic,
                              "您想办理的是下面哪一项？请回复序号或名称。",
                              self.object_routes(msg, region) or self.action_routes(msg, region))
            if pc is None and not confident:
                pc = self.starters(region)
            if pc is not None:
                return RouteDecision(hits=hits, clarify=pc, reason=RouteReason.GENERIC)
        if not confident:
            return RouteDecision(hits=hits, no_match=True, reason=RouteReason.NO_MATCH)
        top = self.learned_choice(msg, confident, hits)
        # Close, unrelated candidates are worth a question only for short messages: a long story
        # already carries the details retrieval ranks on, and asking back would annoy.
        close = [h for h in confident if h.doc_id != top.doc_id and abs(top.score - h.score) < self.close_margin
                 and not self.related(top.doc_id, h.doc_id) and h.kind != "faq"] if len(topic) <= 3 else []
        if close:
            pc = self.clarify([top, *close], topic, "您问的是下面哪一项？请回复序号或名称。")
            if pc is not None:
                return RouteDecision(hits=hits, clarify=pc, reason=RouteReason.CLOSE)
        bundle = self.bundle_asked(msg, top, confident)
        if bundle is not None:
            top = bundle
        route = Route(kind=top.kind, id=top.doc_id, title=top.title, region=top.region, score=top.score)
        guide = self.guide_of_faq(top, hits, region, msg) if top.kind == "faq" else None
        if guide is not None:  # the FAQ answers; its guide is where the user goes on (情形, 我要办)
            route = self.route_of(guide, top.score)
        else:
            base = top.score - self.neighbour_margin
            rival = self.said_neighbour(msg, top.doc_id, [h.doc_id for h in confident[1:]
                                                          if h.kind != "faq" and h.score >= base])
            if rival is not None:
                hit = next(h for h in confident if h.doc_id == rival)
                route = Route(kind=hit.kind, id=hit.doc_id, title=hit.title, region=hit.region, score=hit.score)
        return RouteDecision(route=route, hits=hits, switched=current is not None and current.id != route.id,
                             reason=RouteReason.TOP_HIT, faq=top.doc_id if guide is not None else None)

    def learned_choice(self, msg: Message, confident: list["Hit"], hits: list["Hit"] | None = None) -> "Hit":
        """The top confident hit, or the guide among its confident neighbours (within the neighbour margin) that the
        learned classifier prefers: retrieval says where, the classifier, trained on how each guide is asked for,
        tells neighbours apart. Further down ``hits`` (not confident, or beyond the margin), a guide whose score plus
        the classifier's weighted decision value beats the choice's is taken: retrieval alone misreads a story
        whose context words outnumber its ask (孩子上学 told through 租房、户口), and the classifier alone would route
        out-of-scope messages. An FAQ on top stays (it answers the message itself)."""
        top = confident[0]
        if self.guides is None or top.kind not in ("scenario", "matter"):
            return top
        rivals = [h for h in confident[1:] if h.kind in ("scenario", "matter")
                  and top.score - h.score < self.neighbour_margin]
        pick = self.guides.prefer(msg.search_text, top.doc_id, [h.doc_id for h in rivals], self.guide_margin) \
            if rivals else None
        choice = next((h for h in rivals if h.doc_id == pick), top)
        near = {top.doc_id, *(h.doc_id for h in rivals)}
        far = [h for h in hits or [] if h.kind in ("scenario", "matter") and h.doc_id not in near
               and h.score >= self.guide_floor and top.score - h.score <= self.guide_reach]
        if not far:
            return choice
        values = self.guides.scores(msg.search_text, [choice.doc_id, *(h.doc_id for h in far)])
        if choice.doc_id not in values:
            return choice
        def combined(h: "Hit") -> float:
            return h.score + self.guide_weight * values[h.doc_id]
        best = max((h for h in far if h.doc_id in values), key=combined, default=None)
        return best if best is not None and combined(best) > combined(choice) else choice

    def bundle_asked(self, msg: Message, top: "Hit", confident: list["Hit"]) -> "Hit | None":
        """The confident 一件事 bundling the top member matter, so close to it that retrieval cannot tell them apart
        (the close margin), when the message also says a title word of another of its members that the top title
        lacks (退伍回来，户口、安置怎么弄: the 户口 member ranks first, yet 安置 is another member's): the need spans
        members, which the 一件事 answers. Further behind, such a word is context (刚领了结婚证 before 户口本要改吗)."""
        if top.kind != "matter":
            return None
        top_title = self._title_text.get(top.doc_id, "")
        for scenario in confident:
            members = self.members.get(scenario.doc_id, set())
            if top.doc_id not in members or top.score - scenario.score >= self.close_margin:
                continue
            others = {w for m in members - {top.doc_id} for w in self._own_words.get(m, ())
                      if w not in self.generic_words and w not in top_title}
            if any(w in msg.text for w in others):
                return scenario
        return None

    def guide_of_faq(self, hit: "Hit", hits: list["Hit"], region: str | None,
                     msg: Message | None = None) -> str | None:
        """The guide a standalone FAQ belongs to: of its related guides, the one whose own title words the
        message says over its neighbours (an FAQ on 两项补贴 asked about 护理), else the best-ranked hit, else
        the first."""
        faq = self.corpus.faqs.get(hit.doc_id)
        guides = [r for r in (faq.related if faq else []) if (r in self.corpus.scenarios or r in self.corpus.matters)
                  and (region is None or self.region_of.get(r) == region)]
        ranked = [h.doc_id for h in hits if h.doc_id in guides]
        if not ranked:  # none of its guides is what the message asks for: the confident guide retrieval found is
            found = next((h.doc_id for h in hits if h.confident and h.kind in ("scenario", "matter")), None)
            if found is not None:
                return found
        # retrieval scores the guides on the message's words; the FAQ, which matched the message, says which of
        # them it is about: a guide whose title shares the FAQ question's words (资格认证) goes before one that does not;
        # a 一件事 is about its members too, so a member never goes before its own 一件事
        question = normalize(faq.question) if faq else ""

        def shared(guide: str) -> int:
            return max(sum(w in question for w in self._own_words.get(g, ()) if w not in self.generic_words)
                       for g in {guide, *self.members.get(guide, ())})
        ranked.sort(key=lambda g: -shared(g))
        ordered = list(dict.fromkeys([*ranked, *guides]))
        if msg is not None and len(ordered) > 1:
            rival = self.said_neighbour(msg, ordered[0], ordered[1:])
            if rival is not None:
                return rival
        return (ordered or [None])[0]

    def said_neighbour(self, msg: Message, top_id: str, rivals: list[str]) -> str | None:
        """Of the rivals whose titles share a topic word with the top one's (困难残疾人生活补贴申请 and
        重度残疾人护理补贴申请 share 残疾人…补贴), the first of which the message says a word only its title has
        while saying none only the top title has: the words that tell neighbours apart outrank the words they
        share, which is all retrieval matched on. A scenario and its member matters are one need, not rivals."""
        own = self._own_words.get(top_id)
        if not own:
            return None
        text, top_title = msg.text, self._title_text.get(top_id, "")
        for rival in rivals:
            theirs = self._own_words.get(rival)
            # neighbours share what they are about, not only an action (户口变更, 个人基本信息变更 share 变更)
            if not theirs or rival == top_id or self.related(top_id, rival) or not (own & theirs) - self.generic_words:
                continue
            # a word inside the other title is no difference (jieba cuts 创业担保贷款 differently in two titles)
            rival_title = self._title_text.get(rival, "")
            # a generic word tells neighbours apart only as an action people say (注销 over 遗失补办), not 许可
            if any(self._says(text, w) for w in theirs if w not in top_title
                   and (w not in self.generic_words or w in self.action_forms)) \
                    and not any(self._says(text, w) for w in own if w not in rival_title):
                return rival
        return None

    def _says(self, text: str, word: str) -> bool:
        """The message says a title word, as written or as people say that action (关门了 for 注销)."""
        return word in text or any(f in text for f in self.action_forms.get(word, ()))
