"""The pre-review benchmark's fault injection and scoring (eval/review_faults.py) on the shipped corpus's forms: clean
applications raise no finding, each seeded fault class is found on real forms, and the scoring counts what it says."""
import datetime as dt
import random

import pytest

from agent.forms.review import PreReview, PreReviewer, ReviewItem
from agent.forms.validators import check_id_number, id_number_info
from agent.forms.vocabulary import load_form_words
from corpus.loader import load_corpus
from corpus.schema import FormCheck
from eval.review_faults import FAULT_CLASSES, Builder, Fault, Scores, run, score_fault

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


@pytest.fixture(scope="module")
def builder():
    return Builder(PreReviewer(load_form_words().review), TODAY)


@pytest.fixture(scope="module")
def scores(corpus, builder):
    return run(corpus, builder.reviewer, TODAY, seed=7, generic=10, filler=builder.filler)


def test_clean_applications_of_every_declared_form_raise_no_finding(scores, corpus):
    declared = {d.form.id for d in [*corpus.scenarios.values(), *corpus.matters.values()] if d.form}
    assert declared <= scores.forms, sorted(declared - scores.forms)  # every declared form was built complete
    assert scores.incomplete == 0
    assert scores.clean >= len(declared) + 30  # for oneself and, where the form allows, for another person
    assert scores.clean_flagged == 0


def test_each_fault_class_is_found_on_real_forms(scores):
    for name, s in scores.classes.items():
        if name == "region_condition":
            continue  # no shipped guide declares a service area an ID number can show (see the next test)
        assert s.cases >= 1 and s.caught >= 1, name
        assert s.recall >= 0.9 and s.precision >= 0.9, (name, s)


def test_a_declared_region_check_is_seeded_and_found(corpus, builder):
    guide = corpus.matters["resident-pension-benefit"].model_copy(deep=True)
    guide.form.checks.append(FormCheck(kind="region", field="subject_id_number", prefixes=["37"],
                                       message="须为山东省居民身份证号"))
    app = builder.clean(guide, random.Random(3), for_other=False)
    state, review = builder.review(app)
    assert review.fixes == [] and id_number_info(app.people["subject"].id_number, TODAY).region_code[:2] == "37"
    faults = {f.cls: f for f in builder.faults(app, state, random.Random(3))}
    _, faulted = builder.review(faults["region_condition"].app)
    assert [i.message for i in faulted.fixes] == ["须为山东省居民身份证号"]


def test_generated_people_hold_valid_ids_and_the_faults_change_what_they_say(corpus, builder):
    guide = corpus.matters["resident-pension-benefit"]  # declares 年满60周岁; an application for another person
    app = builder.clean(guide, random.Random(5), for_other=True)
    subject, agent = app.people["subject"], app.people["agent"]
    assert check_id_number(subject.id_number, TODAY).valid and check_id_number(agent.id_number, TODAY).valid
    assert id_number_info(subject.id_number, TODAY).age >= 60 and subject.id_number != agent.id_number
    state, review = builder.review(app)
    assert review.status == "pass", review.fixes
    faults = {f.cls: f for f in builder.faults(app, state, random.Random(5))}
    assert {"id_checksum", "agent_is_subject", "age_condition", "name_digits", "missing_required"} <= set(faults)
    typed = builder.edits(faults["agent_is_subject"].app)
    assert typed["agent_id_number"] == typed["subject_id_number"] == subject.id_number
    typed = builder.edits(faults["age_condition"].app)
    assert id_number_info(typed["subject_id_number"], TODAY).age < 60
    broken = builder.edits(faults["id_checksum"].app)
    key = next(iter(faults["id_checksum"].expected))
    assert not check_id_number(broken[key], TODAY).valid and broken[key][:17] == builder.edits(app)[key][:17]
    for fault in faults.values():  # each alone: the review names it, and quotes none of the typed values
        _, faulted = builder.review(fault.app)
        assert any(i.key in fault.expected for i in faulted.items), fault.cls
        values = [v for v in builder.edits(fault.app).values() if v and len(v) >= 2]
        assert not any(v in i.message for i in faulted.items for v in values if v not in i.label), fault.cls


def test_scoring_counts_other_findings_against_precision():
    app = None
    item = lambda key, severity="fix": ReviewItem(target="field", key=key, label=key, message="请核对", severity=severity)
    scores = Scores()
    score_fault(Fault("phone_malformed", app, {"subject_phone"}),
                PreReview(status="needs_correction", items=[item("subject_phone"), item("subject_name")]), scores)
    score_fault(Fault("name_digits", app, {"subject_name"}),
                PreReview(status="pass", items=[item("subject_name", "prepare")]), scores)  # a fault is a fix
    score_fault(Fault("material_missing", app, {"户口簿"}),
                PreReview(status="pass", items=[item("户口簿", "prepare")]), scores)  # a material is to bring
    phone, name, material = (scores.classes[c] for c in ("phone_malformed", "name_digits", "material_missing"))
    assert (phone.cases, phone.caught, phone.findings, phone.true_findings) == (1, 1, 2, 1)
    assert (name.cases, name.caught, name.recall, name.precision) == (1, 0, 0.0, None)
    assert (material.caught, material.precision) == (1, 1.0)
    assert scores.overall() == (2 / 3, 2 / 3)
    assert set(scores.classes) == set(FAULT_CLASSES)


def test_the_same_seed_gives_the_same_figures(corpus, builder, scores):
    again = run(corpus, builder.reviewer, TODAY, seed=7, generic=10, filler=builder.filler)
    assert {k: vars(v) for k, v in again.classes.items()} == {k: vars(v) for k, v in scores.classes.items()}
