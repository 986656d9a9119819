"""Seeded faults for the pre-review (辅助审核): correct, complete applications built from the corpus's forms, then
one fault at a time from the classes a 窗口 reviewer catches, scored as precision and recall per class.

An application is built the way a citizen types it: every shown field edited through the real ``FormFiller``, with
the 情形 answers of the guide. Its people are generated (names, GB 11643 IDs, mobiles) to meet what the guide
declares: the ages its conditions state (年满N周岁) and the form's declared checks. A fault class applies to a form
only where its data can show it (an age fault needs a stated age, a gender fault a gender field beside an ID);
the word lists below say which labels name a past event or a planned one, written for this benchmark apart from
the reviewer's own vocabulary."""
from __future__ import annotations

import copy
import datetime as dt
import random
import re
from dataclasses import dataclass, field

from agent.forms.drafts import blank_form
from agent.forms.filler import FormFiller
from agent.forms.review import PreReview, PreReviewer
from agent.reply import FormState
from agent.zh.ids import id_check_digit, uscc_check_char
from corpus.schema import Form, FormField, MatterGuide, Scenario

Guide = Scenario | MatterGuide

# (class, what a 窗口 reviewer would say is wrong)
FAULT_CLASSES: dict[str, str] = {
    "id_checksum": "身份证号校验位错误",
    "uscc_checksum": "统一社会信用代码校验位错误",
    "phone_malformed": "电话号码少一位",
    "name_digits": "姓名里有数字",
    "missing_required": "必填项未填",
    "situation_unchosen": "决定材料的情形未选择",
    "material_missing": "所选情形需要的材料（须列为待准备）",
    "future_event_date": "已发生事项的日期晚于今天（出生、死亡、毕业、离职…）",
    "expired_plan_date": "计划、预约日期早于今天",
    "birth_vs_id": "出生日期与身份证号不一致",
    "gender_vs_id": "性别与身份证号不一致",
    "age_condition": "身份证号的年龄不符合指南的年龄条件",
    "region_condition": "身份证号地区不在指南声明的服务地区",
    "agent_is_subject": "代他人办理时，代办人与办理对象是同一人",
    "role_gender": "男方、女方、父亲、母亲的身份证号性别不符（填反）",
    "period_reversed": "截止日期早于起始日期",
}

# Date labels naming something that has already happened, or something planned: the benchmark's own list.
PAST_EVENT_WORDS = ["出生", "死亡", "去世", "毕业", "结婚登记", "离职", "参加工作", "入职", "破产", "处罚决定",
                    "列入", "决议", "建成", "入伍", "退出现役", "退役", "事故发生", "停保", "失业", "分娩", "就诊",
                    "入院", "居住登记", "登记注册"]
FUTURE_PLAN_WORDS = ["计划", "预约", "期望", "预产期"]
PERIOD_WORDS = [("起始", "截止"), ("开始", "结束")]
ROLE_GENDER = {"husband": "男", "father": "男", "wife": "女", "mother": "女"}
ROLE_AGE = {"child": (0, 0), "student": (7, 15)}  # ages of the roles whose age the form implies
ADULT = (25, 55)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗"
GIVEN = ["丽", "伟", "娜", "强", "晓燕", "建国", "子涵", "浩然", "静", "磊", "秀英", "志刚", "欣怡", "海燕"]
REGIONS = ["370102", "370203", "370305", "370602", "370782", "371302", "371402"]
ADDRESSES = ["山东省济南市历下区泉城路8号", "山东省青岛市市南区香港中路10号", "山东省淄博市张店区人民西路6号",
             "山东省烟台市芝罘区南大街102号", "山东省临沂市兰山区沂蒙路120号"]
AGE_RE = re.compile(r"(男方|女方)?年满(\d+)周岁")
AGE_ROLES = {"男方": "husband", "女方": "wife"}  # whose age a condition states, when it names them
AGE_OTHERS = re.compile(r"儿童|幼儿|子女|婴|未成年|外国人|少年")  # a person the form may not hold


@dataclass
class Person:
    name: str
    id_number: str
    phone: str
    birth: dt.date
    gender: str


@dataclass
class Application:
    """One clean application: its 情形 answers, whom it is for, its people by role, and the choices typed."""
    guide: Guide
    for_other: bool
    answers: dict[str, str]
    people: dict[str, Person]
    enums: dict[str, str]
    ages: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # role -> age the guide requires
    overrides: dict[str, str | None] = field(default_factory=dict)  # a fault's edits over the generated values

    @property
    def form(self) -> Form:
        return self.guide.application_form


@dataclass
class Fault:
    cls: str
    app: Application
    expected: set[str]  # keys a finding about it may carry (field key, 情形 question id, or material name)


def make_id(region: str, birth: dt.date, rng: random.Random, gender: str) -> str:
    seq = f"{rng.randrange(10, 99)}{rng.choice('13579' if gender == '男' else '02468')}"
    body = f"{region}{birth:%Y%m%d}{seq}"
    return body + id_check_digit(body)


def make_uscc(rng: random.Random) -> str:
    body = "91" + rng.choice(REGIONS) + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + uscc_check_char(body)


def break_check(code: str) -> str:
    """The same code with a wrong last character."""
    alphabet = "0123456789X" if code[:17].isdigit() else "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:-1] + next(c for c in alphabet if c != code[-1])


def person(rng: random.Random, today: dt.date, ages: tuple[int, int], gender: str | None = None,
           region: str | None = None) -> Person:
    gender = gender or rng.choice("男女")
    age = rng.randint(*ages)
    birth = today - dt.timedelta(days=365 * age + rng.randint(20, 300)) if age else today - dt.timedelta(days=20)
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    phone = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
    return Person(name, make_id(region or rng.choice(REGIONS), birth, rng, gender), phone, birth, gender)


def stated_ages(guide: Guide, situation: str | None, form: Form,
                role_of=lambda f: f.role) -> dict[str, tuple[int | None, int | None]]:
    """Role -> the age the guide's conditions state (年满N周岁, 男方年满22周岁; none when a condition also allows
    未满N周岁) and the form's declared age checks, for the roles whose ID the form holds."""
    if isinstance(guide, Scenario):
        conditions = every = list(guide.conditions)
    else:
        chosen = [s for s in guide.situations if s.title == situation] or guide.situations[:1]
        conditions = [c for s in chosen for c in s.conditions]
        every = [c for s in guide.situations for c in s.conditions]
    ids = {role_of(f): f.key for f in form.fields if f.type == "id_number" and role_of(f)}
    out: dict[str, tuple[int | None, int | None]] = {}
    for c in conditions:
        for part in re.split(r"[；;。、，]", c):
            m = AGE_RE.search(part)
            role = AGE_ROLES.get(m.group(1) or "", form.subject_role) if m else ""
            if m and role in ids and not AGE_OTHERS.search(part) \
                    and not any(f"未满{m.group(2)}周岁" in x for x in every):
                low, high = out.get(role, (None, None))
                out[role] = (max(low or 0, int(m.group(2))), high)
    for check in form.checks:
        role = next((r for r, k in ids.items() if k == check.field), None)
        if check.kind == "age" and role and check.when is None:
            low, high = out.get(role, (None, None))
            out[role] = (max(low or 0, check.min) if check.min is not None else low,
                         min(high or 200, check.max) if check.max is not None else high)
    return out


def _is_name(f: FormField) -> bool:
    return f.type == "text" and ("姓名" in f.label or f.label.endswith("联系人"))


def _text_value(f: FormField) -> str:
    label = f.label
    if "关系" in label:
        return "母子"
    if any(w in label for w in ("名称", "单位", "企业", "院校", "机构", "银行")):
        return "济南明德商贸有限公司"
    if any(w in label for w in ("号", "账号", "编号", "代码")):
        return "37010220260001"
    return "详见申请材料"


def _date_value(f: FormField, p: Person | None, today: dt.date) -> str:
    if "出生" in f.label and p is not None:
        return p.birth.isoformat()
    if any(w in f.label for w in FUTURE_PLAN_WORDS) or "截止" in f.label:
        return (today + dt.timedelta(days=30)).isoformat()
    return (today - dt.timedelta(days=90)).isoformat()


class Builder:
    """Clean applications and their seeded faults, over one rules-only filler and reviewer."""

    def __init__(self, reviewer: PreReviewer, today: dt.date, filler: FormFiller | None = None):
        self.filler = filler or FormFiller()
        self.reviewer = reviewer
        self.today = today

    def person_of(self, f: FormField) -> str | None:
        """Whose value the field holds: its role, else the person its key names (branch_leader_id_number)."""
        role = self.filler.roles.of_field(f)
        if role is None and (f.type in ("id_number", "phone") or _is_name(f)):
            role = "field:" + re.sub(r"_(id_number|name|phone)$", "", f.key)
        return role

    # -- clean applications ----------------------------------------------------------------------------------------

    def clean(self, guide: Guide, rng: random.Random, for_other: bool) -> Application | None:
        form = guide.application_form
        enums: dict[str, str] = {}
        roles = {f.key: self.person_of(f) for f in form.fields}
        for f in form.fields:
            if f.type != "enum" or not f.options:
                continue
            if f.key == "applies_for":
                if for_other and len(f.options) < 2:
                    return None
                enums[f.key] = f.options[1 if for_other else 0]
            else:
                enums[f.key] = rng.choice(f.options)
        if for_other and "applies_for" not in enums:
            return None
        answers = {q.id: rng.choice(q.options).id for q in guide.questions} if isinstance(guide, Scenario) else {}
        app = Application(guide, for_other, answers, {}, enums)
        situation = next((enums[f.key] for f in form.fields if f.key == "situation" and f.key in enums), None)
        app.ages = stated_ages(guide, situation, form, self.filler.roles.of_field)
        for role in dict.fromkeys(r for r in roles.values() if r):
            low, high = app.ages.get(role, (None, None))
            ages = (low, high or low + 15) if low else (ADULT[0], high) if high else ROLE_AGE.get(role, ADULT)
            app.people[role] = person(rng, self.today, ages, ROLE_GENDER.get(role))
        if not for_other and "applicant" in app.people and form.subject_role in app.people:
            app.people["applicant"] = app.people[form.subject_role]  # applying for oneself: one person
        for f in form.fields:  # a gender or birth enum follows the person it belongs to
            p = app.people.get(roles[f.key] or "")
            if f.type == "enum" and "性别" in f.label and p is not None and p.gender in f.options:
                enums[f.key] = p.gender
        return app

    def edits(self, app: Application) -> dict[str, str | None]:
        """What the citizen types: every field's value from the application's people and choices."""
        form = app.form
        out: dict[str, str | None] = {}
        for f in form.fields:
            if f.sources == ["derived"]:
                continue  # the form derives it from the ID number
            p = app.people.get(self.person_of(f) or "")
            if f.type == "enum":
                value = app.enums.get(f.key)
            elif f.type == "id_number":
                value = p.id_number if p else None
            elif f.type == "phone":
                value = p.phone if p else "13869125537"
            elif f.type == "date":
                value = _date_value(f, p, self.today)
            elif f.type == "address":
                value = ADDRESSES[len(f.key) % len(ADDRESSES)]
            elif f.type == "uscc":
                value = make_uscc(random.Random(f.key + form.id))
            elif f.type == "money":
                value = "5000元"
            elif f.type == "int":
                value = "2"
            else:
                value = p.name if _is_name(f) and p else _text_value(f)
            if value:
                out[f.key] = value
        out.update(app.overrides)
        return out

    def fill(self, app: Application) -> FormState:
        """The application through the form's edit path: validated, gated by its 情形 and its own choices."""
        edits = {k: v for k, v in self.edits(app).items() if v is not None}
        state = blank_form(app.guide, self.filler)
        return self.filler.apply_edits(app.form, state, edits, answers=app.answers, today=self.today)

    def review(self, app: Application) -> tuple[FormState, PreReview]:
        state = self.fill(app)
        return state, self.reviewer.review(app.form, state, app.guide, app.answers, today=self.today)

    # -- faults ------------------------------------------------------------------------------------------------------

    def faults(self, app: Application, state: FormState, rng: random.Random) -> list[Fault]:
        """One fault of each class this application's form can show (a random field of the class)."""
        shown = {f.key: f for f in state.fields}
        defs = [f for f in app.form.fields if f.key in shown]
        roles = {f.key: shown[f.key].role for f in defs}
        out: list[Fault] = []

        def add(cls: str, expected: set[str], overrides: dict | None = None, **changes) -> None:
            fault = copy.deepcopy(app)
            fault.overrides.update(overrides or {})
            for name, value in changes.items():
                setattr(fault, name, value)
            out.append(Fault(cls, fault, expected))

        def pick(cond, typed_over_derived: bool = False) -> FormField | None:
            # a derived field is shown filled; the citizen may still type over it (a birth date, a gender)
            options = [f for f in defs if cond(f) and (typed_over_derived or f.sources != ["derived"])]
            return rng.choice(options) if options else None

        typed = self.edits(app)
        if f := pick(lambda f: f.type == "id_number" and typed.get(f.key)):
            add("id_checksum", {f.key}, {f.key: break_check(typed[f.key])})
        if f := pick(lambda f: f.type == "uscc" and typed.get(f.key)):
            add("uscc_checksum", {f.key}, {f.key: break_check(typed[f.key])})
        if f := pick(lambda f: f.type == "phone" and typed.get(f.key)):
            add("phone_malformed", {f.key}, {f.key: typed[f.key][:-1]})
        if f := pick(lambda f: _is_name(f) and typed.get(f.key)):
            name = typed[f.key]
            add("name_digits", {f.key}, {f.key: name[0] + str(rng.randrange(1, 9)) + name[1:]})
        if f := pick(lambda f: f.key in state.missing or (shown[f.key].required and f.key != "applies_for")):
            add("missing_required", {f.key}, {f.key: None})
        self._situation_faults(app, state, add)
        if f := pick(lambda f: f.type == "date" and any(w in f.label for w in PAST_EVENT_WORDS)):
            add("future_event_date", {f.key}, {f.key: (self.today + dt.timedelta(days=400)).isoformat()})
        if f := pick(lambda f: f.type == "date" and any(w in f.label for w in FUTURE_PLAN_WORDS)):
            add("expired_plan_date", {f.key}, {f.key: (self.today - dt.timedelta(days=30)).isoformat()})
        with_id = {roles[f.key] for f in defs if f.type == "id_number" and typed.get(f.key) and roles[f.key]}
        if f := pick(lambda f: f.type == "date" and "出生" in f.label and roles[f.key] in with_id, True):
            born = app.people[roles[f.key]].birth
            add("birth_vs_id", {f.key}, {f.key: (born - dt.timedelta(days=366)).isoformat()})
        if f := pick(lambda f: f.type == "enum" and "性别" in f.label and roles[f.key] in with_id, True):
            other = next(o for o in f.options if o != app.people[roles[f.key]].gender)
            add("gender_vs_id", {f.key}, {f.key: other})
        labels = {f.label: f for f in defs if f.type == "date"}
        periods = [(f, labels[f.label.replace(a, b)]) for f in labels.values() for a, b in PERIOD_WORDS
                   if a in f.label and f.label.replace(a, b) in labels]
        if periods:
            start, end = rng.choice(periods)
            add("period_reversed", {start.key, end.key}, {start.key: typed[end.key], end.key: typed[start.key]})
        self._person_faults(app, defs, roles, typed, add, rng)
        return out

    @staticmethod
    def _situation_faults(app: Application, state: FormState, add) -> None:
        guide = app.guide
        if isinstance(guide, Scenario):
            # a question whose answer changes the materials, given the other answers
            deciding = [q for q in guide.questions if any(
                m.when and q.id in m.when and all(app.answers.get(k) in v for k, v in m.when.items() if k != q.id)
                for m in guide.materials)]
            if deciding:
                q = deciding[0]
                add("situation_unchosen", {q.id}, answers={k: v for k, v in app.answers.items() if k != q.id})
            materials = [m for m in guide.materials if m.required and not m.exempt
                         and all(app.answers.get(k) in v for k, v in (m.when or {}).items())]
        else:
            chosen = app.enums.get("situation")
            if chosen and any(f.key == "situation" for f in state.fields):
                add("situation_unchosen", {"situation"}, {"situation": None})
            situation = next((s for s in guide.situations if s.title == chosen), None)
            situation = situation or (guide.situations[0] if len(guide.situations) == 1 else None)
            materials = [m for m in situation.materials if m.required and not m.exempt] if situation else []
        if materials:
            add("material_missing", {materials[len(materials) // 2].name})

    def _person_faults(self, app: Application, defs: list[FormField], roles: dict, typed: dict, add,
                       rng: random.Random) -> None:
        form = app.form
        subject = app.people.get(form.subject_role)
        subject_ids = [f for f in defs if f.type == "id_number" and roles[f.key] == form.subject_role
                       and typed.get(f.key)]
        for role, (low, high) in app.ages.items():
            keys = {f.key for f in defs if f.type == "id_number" and roles[f.key] == role and typed.get(f.key)}
            p = app.people.get(role)
            if not keys or p is None:
                continue
            age = (low - 1 - rng.randrange(min(low, 5))) if low else high + 1 + rng.randrange(5)
            other = person(rng, self.today, (age, age), p.gender)
            add("age_condition", keys, people={**app.people, role: other,
                **({"applicant": other} if app.people.get("applicant") is p else {})})
        for check in form.checks:
            if check.kind == "region" and typed.get(check.field):
                role = roles.get(check.field)
                p = app.people.get(role or "")
                outside = next(r for r in ["110101", "310101", "440103", "510104"]
                               if not any(r.startswith(x) for x in check.prefixes))
                if p is not None:  # the same person, born the same day, registered elsewhere
                    moved = copy.copy(p)
                    moved.id_number = make_id(outside, p.birth, rng, p.gender)
                    add("region_condition", {check.field}, people={**app.people, role: moved})
        gendered = [r for r in ROLE_GENDER if r in app.people and any(
            f.type == "id_number" and roles[f.key] == r and typed.get(f.key) for f in defs)]
        if gendered:
            role = rng.choice(gendered)
            p = app.people[role]
            swapped = copy.copy(p)
            swapped.gender = "女" if p.gender == "男" else "男"
            swapped.id_number = make_id(p.id_number[:6], p.birth, rng, swapped.gender)
            add("role_gender", {f.key for f in defs if roles[f.key] == role and f.type in ("id_number", "enum")},
                people={**app.people, role: swapped})
        agent_ids = [f for f in defs if f.type == "id_number" and roles[f.key] == "agent" and typed.get(f.key)]
        if app.for_other and agent_ids and subject_ids and subject is not None:
            agent_keys = {f.key for f in defs if roles[f.key] == "agent"}
            add("agent_is_subject", agent_keys | {f.key for f in subject_ids},
                people={**app.people, "agent": subject})


# -- scoring ---------------------------------------------------------------------------------------------------------

@dataclass
class ClassScore:
    cases: int = 0
    caught: int = 0
    findings: int = 0  # fix items raised on the faulted applications
    true_findings: int = 0

    @property
    def recall(self) -> float | None:
        return self.caught / self.cases if self.cases else None

    @property
    def precision(self) -> float | None:
        return self.true_findings / self.findings if self.findings else None


@dataclass
class Scores:
    clean: int = 0
    clean_flagged: int = 0  # clean applications with at least one fix item (false positives)
    clean_findings: int = 0
    incomplete: int = 0  # clean applications the generator could not complete (left out)
    classes: dict[str, ClassScore] = field(default_factory=lambda: {c: ClassScore() for c in FAULT_CLASSES})
    forms: set[str] = field(default_factory=set)

    def overall(self) -> tuple[float, float]:
        cases = sum(c.cases for c in self.classes.values())
        caught = sum(c.caught for c in self.classes.values())
        true = sum(c.true_findings for c in self.classes.values())
        found = sum(c.findings for c in self.classes.values()) + self.clean_findings
        return (true / found if found else 0.0), (caught / cases if cases else 0.0)


def score_fault(fault: Fault, review: PreReview, scores: Scores) -> bool:
    """A fault is caught when a finding names its field, 情形 question or material; a material to bring is a
    ``prepare`` item (the application carries no attachments), everything else must be a ``fix``. Fix items on
    other keys count against precision."""
    s = scores.classes[fault.cls]
    s.cases += 1
    hits = [i for i in review.items if i.key in fault.expected
            and (i.severity == "fix" or fault.cls == "material_missing")]
    caught = bool(hits)
    s.caught += caught
    fixes = review.fixes
    s.findings += len(fixes) + (1 if hits and fault.cls == "material_missing" else 0)
    s.true_findings += sum(1 for i in fixes if i.key in fault.expected) + (
        1 if hits and fault.cls == "material_missing" else 0)
    return caught


def sample_guides(corpus, generic: int, rng: random.Random) -> list[Guide]:
    """Every guide with a declared form, and ``generic`` matters whose form is the generic one."""
    docs = sorted([*corpus.scenarios.values(), *corpus.matters.values()], key=lambda d: d.id)
    declared = [d for d in docs if d.form is not None]
    plain = [d for d in docs if d.form is None]
    return declared + rng.sample(plain, min(generic, len(plain)))


def run(corpus, reviewer: PreReviewer, today: dt.date, seed: int = 16, generic: int = 40,
        filler: FormFiller | None = None, on_miss=None) -> Scores:
    """Build, check and fault every sampled application; ``on_miss(fault, review)`` hears each fault missed."""
    rng = random.Random(seed)
    builder = Builder(reviewer, today, filler)
    scores = Scores()
    for guide in sample_guides(corpus, generic, rng):
        for for_other in (False, True):
            app = builder.clean(guide, rng, for_other)
            if app is None:
                continue
            state, review = builder.review(app)
            bad = [f.key for f in state.fields if f.value and not f.valid]
            if state.missing or bad:
                scores.incomplete += 1
                continue
            scores.forms.add(app.form.id)
            scores.clean += 1
            scores.clean_flagged += bool(review.fixes)
            scores.clean_findings += len(review.fixes)
            if review.fixes and on_miss:
                on_miss(Fault("clean", app, set()), review)
            for fault in builder.faults(app, state, rng):
                _, faulted = builder.review(fault.app)
                if not score_fault(fault, faulted, scores) and on_miss:
                    on_miss(fault, faulted)
    return scores
