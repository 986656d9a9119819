"""Cross-document checks on top of the schema: every problem at once, each with file, line and field."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from corpus.loader import Corpus, Problem, relative_path, load_corpus
from corpus.roles import known_roles
from corpus.schema import APPLIES_FOR, Condition, Form, MatterGuide, Scenario

MIN_SCENARIO_QUESTIONS = 8
MIN_MATTER_QUESTIONS = 4
_PUNCT = re.compile(r"[\s,，。.!！?？、;；:：\"'“”‘’()（）\[\]【】~～…-]+")


def normalize_question(text: str) -> str:
    """Two sample questions are 'identical' when they differ only in spaces and punctuation."""
    return _PUNCT.sub("", text).lower()


class _Checker:
    def __init__(self, corpus: Corpus):
        self.corpus = corpus
        self.problems: list[Problem] = []
        # Ids a scenario member may name; schema-invalid matters count, so one bad file does not cascade.
        self.member_ids = corpus.matters.keys() | corpus.catalog.keys() | {
            doc_id for doc_id, (folder, _, _) in corpus.invalid.items() if folder in ("matters", "catalog")}
        self.form_ids: dict[str, str] = {}  # form id -> the guide it belongs to

    def add(self, doc_id: str, path: tuple, message: str, code: str, severity: str = "error") -> None:
        info = self.corpus.sources.get(doc_id) or self.corpus.invalid[doc_id][2]
        self.problems.append(Problem(
            relative_path(info.file, self.corpus.root), info.line_of(path),
            ".".join(str(p) for p in path), message, code, severity))

    # -- checks -------------------------------------------------------------
    def duplicate_titles(self) -> None:
        seen: dict[tuple, str] = {}
        for doc in self.corpus.documents():
            key = (doc.region, doc.kind if doc.kind == "catalog" else "guide", doc.title.strip())
            other = seen.get(key)
            if other is None:
                seen[key] = doc.id
                continue
            # The public catalogue itself has a few same-named matters under different codes.
            severity = "warning" if doc.kind == "catalog" else "error"
            self.add(doc.id, ("title",), f"title {doc.title!r} is also used by {other!r}", "duplicate-title", severity)

    def duplicate_sample_questions(self) -> None:
        seen: dict[str, tuple[str, str]] = {}
        for doc in self.corpus.documents():
            for i, q in enumerate(doc.sample_questions):
                norm = normalize_question(q)
                if not norm:
                    continue
                first = seen.get(norm)
                if first and first[0] != doc.id:
                    self.add(doc.id, ("sample_questions", i),
                             f"sample question {q!r} is identical to one in {first[0]!r}", "duplicate-sample-question")
                elif first:
                    self.add(doc.id, ("sample_questions", i), f"sample question {q!r} is listed twice",
                             "duplicate-sample-question")
                else:
                    seen[norm] = (doc.id, q)

    def _check_condition(self, scenario: Scenario, cond: Condition | None, path: tuple) -> None:
        if not cond:
            return
        questions = {q.id: {o.id for o in q.options} for q in scenario.questions}
        for qid, option_ids in cond.items():
            if qid not in questions:
                self.add(scenario.id, path, f"condition names question {qid!r}, which the scenario does not ask",
                         "dangling-ref")
                continue
            for oid in option_ids:
                if oid not in questions[qid]:
                    self.add(scenario.id, path, f"question {qid!r} has no option {oid!r}", "dangling-ref")

    def scenario(self, s: Scenario) -> None:
        known = self.member_ids
        member_ids = [m.matter for m in s.members]
        for i, m in enumerate(s.members):
            if m.matter not in known:
                self.add(s.id, ("members", i, "matter"), f"member matter {m.matter!r} does not exist in the corpus",
                         "dangling-ref")
            for dep in m.depends_on:
                if dep not in member_ids:
                    self.add(s.id, ("members", i, "depends_on"), f"depends on {dep!r}, which is not a member",
                             "dangling-ref")
            self._check_condition(s, m.when, ("members", i, "when"))
        for i, q in enumerate(s.questions):
            self._check_condition(s, q.when, ("questions", i, "when"))
            if len({o.id for o in q.options}) != len(q.options):
                self.add(s.id, ("questions", i, "options"), "two options share an id", "duplicate-id")
        if len({q.id for q in s.questions}) != len(s.questions):
            self.add(s.id, ("questions",), "two 情形 questions share an id", "duplicate-id")
        if not s.materials:
            self.add(s.id, ("materials",), "the 一套材料 list is empty", "empty-materials")
        for i, mat in enumerate(s.materials):
            for member in mat.for_members:
                if member not in member_ids:
                    self.add(s.id, ("materials", i, "for_members"), f"{member!r} is not a member of this scenario",
                             "dangling-ref")
            self._check_condition(s, mat.when, ("materials", i, "when"))
        self.form(s.id, s.form, {q.id: {o.id for o in q.options} for q in s.questions})
        for required in ("applicant_name", "applicant_id_number", "applicant_phone"):
            if required not in {f.key for f in s.form.fields}:
                self.add(s.id, ("form", "fields"), f"the unified form lacks {required}", "form", "warning")
        self._time_limit(s.id, s.time_limit)
        if len(s.sample_questions) < MIN_SCENARIO_QUESTIONS:
            self.add(s.id, ("sample_questions",),
                     f"{len(s.sample_questions)} sample questions; a scenario needs at least {MIN_SCENARIO_QUESTIONS}",
                     "coverage", "warning")

    def form(self, doc_id: str, form: Form, questions: dict[str, set[str]]) -> None:
        """A scenario's or matter's form: keys, derivations, roles, and what each ``when`` names (a 情形 question
        of the scenario by option ids, or an enum field of the form by option texts)."""
        first = self.form_ids.setdefault(form.id, doc_id)
        if first != doc_id:
            self.add(doc_id, ("form", "id"), f"form id {form.id!r} is also the form of {first!r}", "duplicate-id")
        if form.subject_role not in known_roles():
            self.add(doc_id, ("form", "subject_role"), f"subject_role {form.subject_role!r} is not one of "
                     "corpus/roles.yaml", "unknown-role")
        keys = [f.key for f in form.fields]
        enums = {k: set(v) for k, v in form.field_options().items()}
        for i, f in enumerate(form.fields):
            path = ("form", "fields", i)
            if keys.count(f.key) > 1 and keys.index(f.key) != i:
                self.add(doc_id, path + ("key",), f"form field key {f.key!r} is used twice", "duplicate-id")
            if f.derived_from is not None and f.derived_from not in keys:
                self.add(doc_id, path + ("derived_from",), f"derived from {f.derived_from!r}, which is not a field",
                         "dangling-ref")
            if "derived" in f.sources and (f.derived_from is None or f.derive is None):
                self.add(doc_id, path, "a derived field needs both derived_from and derive", "dangling-ref")
            if f.role is not None and f.role not in known_roles():
                self.add(doc_id, path + ("role",), f"role {f.role!r} is not one of corpus/roles.yaml", "unknown-role")
            if f.type == "enum" and not f.options:
                self.add(doc_id, path + ("options",), "an enum field needs options", "schema")
            if f.key == APPLIES_FOR and (f.type != "enum" or len(f.options) != 2):
                self.add(doc_id, path, f"{APPLIES_FOR} is an enum of two options: for oneself, for someone else",
                         "form")
            for name, values in (f.when or {}).items():
                allowed = questions.get(name, enums.get(name) if name != f.key else None)
                if allowed is None:
                    self.add(doc_id, path + ("when",), f"condition names {name!r}, which is neither a 情形 question "
                             "nor an enum field of the form", "dangling-ref")
                    continue
                for v in values:
                    if v not in allowed:
                        self.add(doc_id, path + ("when",), f"{name!r} has no option {v!r}", "dangling-ref")

    def matter(self, m: MatterGuide) -> None:
        if m.form is not None:
            self.form(m.id, m.form, {})
        elif m.generic_form is not None:
            self.form(m.id, m.generic_form, {})
            keys = {f.key for f in m.generic_form.fields}
            for i, c in enumerate(m.checks):
                unknown = [k for k in (c.field, c.other) if k and k not in keys]
                if unknown:
                    self.add(m.id, ("checks", i, "field"), f"check {c.kind} names fields not in the generic form: "
                             f"{', '.join(unknown)}", "dangling-ref")
        for i, sit in enumerate(m.situations):
            if not sit.materials:
                self.add(m.id, ("situations", i, "materials"), f"情形 {sit.title!r} lists no materials",
                         "empty-materials")
            if sit.time_limit:
                self._time_limit(m.id, sit.time_limit, ("situations", i, "time_limit"))
        self._time_limit(m.id, m.time_limit)
        if len(m.sample_questions) < MIN_MATTER_QUESTIONS:
            self.add(m.id, ("sample_questions",),
                     f"{len(m.sample_questions)} sample questions; a matter needs at least {MIN_MATTER_QUESTIONS}",
                     "coverage", "warning")

    def _time_limit(self, doc_id: str, limit, path: tuple = ("time_limit",)) -> None:
        if limit.legal_days is None and limit.promised_days is None:
            self.add(doc_id, path, "gives neither legal_days nor promised_days (working days; 0 = 即办)",
                     "time-limit")

    def invalid_documents(self) -> None:
        """Checks that need no valid model, run on documents that failed the schema."""
        for doc_id, (folder, data, _) in self.corpus.invalid.items():
            if doc_id in self.corpus.sources:
                continue  # a valid document holds this id; the duplicate is reported already
            if folder == "matters":
                for i, sit in enumerate(data.get("situations") or []):
                    if isinstance(sit, dict) and not sit.get("materials"):
                        self.add(doc_id, ("situations", i, "materials"), "this 情形 lists no materials",
                                 "empty-materials")
            elif folder == "scenarios" and not data.get("materials"):
                self.add(doc_id, ("materials",), "the 一套材料 list is empty", "empty-materials")

    def faq_links(self) -> None:
        for faq in self.corpus.faqs.values():
            for i, ref in enumerate(faq.related):
                if self.corpus.get(ref) is None and ref not in self.corpus.invalid:
                    self.add(faq.id, ("related", i), f"related document {ref!r} does not exist", "dangling-ref")

    def run(self) -> list[Problem]:
        self.duplicate_titles()
        self.duplicate_sample_questions()
        for s in self.corpus.scenarios.values():
            self.scenario(s)
        for m in self.corpus.matters.values():
            self.matter(m)
        self.faq_links()
        self.invalid_documents()
        return self.problems


def _recode(problem: Problem) -> Problem:
    """Give schema errors on time limits their own code and a message content staff understand."""
    if problem.code == "schema" and re.search(r"time_limit\.(legal|promised)_days", problem.field):
        return Problem(problem.file, problem.line, problem.field,
                       "time limit must be a whole number of working days, e.g. 20 (0 = 即办)", "time-limit")
    return problem


def check_corpus(corpus: Corpus) -> list[Problem]:
    """Every problem of a loaded corpus: its load problems plus the cross-document checks."""
    problems = [_recode(p) for p in corpus.problems] + _Checker(corpus).run()
    return sorted(problems, key=lambda p: (p.severity != "error", p.file, p.line))


def validate_corpus(root: Path | str | None = None, overrides: dict[Path, str] | None = None) -> list[Problem]:
    return check_corpus(load_corpus(root, overrides=overrides))


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def missing_fields(corpus: Corpus) -> dict[str, list[str]]:
    """Documents with gaps content staff should fill: doc id -> missing field names."""
    gaps: dict[str, list[str]] = defaultdict(list)
    for s in corpus.scenarios.values():
        for name in ("questions", "places", "online", "legal_basis", "faqs", "steps", "conditions"):
            if not getattr(s, name):
                gaps[s.id].append(name)
        if len(s.sample_questions) < MIN_SCENARIO_QUESTIONS:
            gaps[s.id].append(f"sample_questions<{MIN_SCENARIO_QUESTIONS}")
    for m in corpus.matters.values():
        for name in ("steps", "places", "online", "legal_basis"):
            if not getattr(m, name):
                gaps[m.id].append(name)
        if len(m.sample_questions) < MIN_MATTER_QUESTIONS:
            gaps[m.id].append(f"sample_questions<{MIN_MATTER_QUESTIONS}")
    for c in corpus.catalog.values():
        if not c.link:
            gaps[c.id].append("link")
    return dict(gaps)

