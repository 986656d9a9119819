"""`daoban eval run --licences household` on a tiny case file: the real assistant over the real index of a small
corpus, each application's speaker signed in on the synthetic city platform after the conversation."""
import json

import pytest
from typer.testing import CliRunner

from eval.cases import Case
from eval.licences import CityPlatform, household_for
from agent.forms.licences import VerifiedIdentity
from tests.conftest_api import build_test_index, make_corpus
from tests.conftest_prefill import make_id

SPEAKER_ID = make_id("370102", "19850612", "341")
FATHER_ID = make_id("370102", "19580415", "003")
CASES = [
    {"id": "t-father", "query": "帮我爸办居民身份证换领，他叫周大山。我叫周明远，电话13912345678",
     "expect": {"kind": "apply", "target": "居民身份证换领、补领",
                "people": {"speaker": {"name": "周明远", "phone": "13912345678"}, "subject": {"name": "周大山"}},
                "relation": "child"}},
    {"id": "t-newborn", "query": f"孩子刚出生，我要办新生儿出生一件事，我是孩子妈妈孙晓雯，身份证{SPEAKER_ID}",
     "expect": {"kind": "apply", "target": "新生儿出生一件事",
                "people": {"speaker": {"name": "孙晓雯", "id_number": SPEAKER_ID}}}},
    {"id": "t-consult", "query": "新生儿落户要带什么材料", "expect": {"kind": "consult", "target": "新生儿出生一件事"}},
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval-licences")
    env = {"DAOBAN_DATA_DIR": str(tmp / "data"), "DAOBAN_CORPUS_DIR": str(make_corpus(tmp / "corpus")),
           "DAOBAN_LLM__BACKEND": "none"}
    build_test_index(env)
    cases = tmp / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in CASES), encoding="utf-8")
    return env, cases, tmp


def _run(env, cases, out, *extra):
    from daoban.cli import app
    from daoban.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["eval", "run", "--set", str(cases), "--llm", "none", "--report", str(out),
                                          *extra], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = {r["id"]: r for r in map(json.loads, (out / "cases.jsonl").read_text(encoding="utf-8").splitlines())}
    return summary, rows


def test_the_household_run_reports_both_prefill_figures_and_leaves_the_conversations_alone(env):
    env, cases, tmp = env
    plain, plain_rows = _run(env, cases, tmp / "plain")
    signed, rows = _run(env, cases, tmp / "household", "--licences", "household")
    assert plain["prefill_rate_with_licences"] is None
    assert signed["prefill_rate_with_licences"] > signed["prefill_rate"]
    # what the conversation filled is judged the same with or without the sign-in
    for name in ("resolved", "prefill_rate", "slot_precision", "slot_recall"):
        assert signed[name] == plain[name], name
    for case_id, row in rows.items():
        assert row["slots"] == plain_rows[case_id]["slots"]
    father = rows["t-father"]
    assert father["licence_required_fields"] == father["required_fields"]
    assert father["licence_prefilled_fields"] > father["prefilled_fields"]
    assert rows["t-newborn"]["licence_prefilled_fields"] > rows["t-newborn"]["prefilled_fields"]
    assert rows["t-consult"]["licence_required_fields"] is None
    # what is still empty is named per case and counted in the summary
    for row in rows.values():
        if row["licence_required_fields"] is not None:
            assert len(row["licence_missing"]) == row["licence_required_fields"] - row["licence_prefilled_fields"]
    assert sum(signed["licence_missing"].values()) == sum(len(r["licence_missing"]) for r in rows.values())
    assert plain["licence_missing"] == {}


def test_an_unknown_licences_mode_is_refused(env):
    from daoban.cli import app

    env, cases, _ = env
    result = CliRunner().invoke(app, ["eval", "run", "--set", str(cases), "--licences", "everyone"], env=env)
    assert result.exit_code == 2 and "--licences must be none or household" in result.output


def test_the_synthetic_household_is_the_cases_and_the_same_every_run():
    case = Case.model_validate(CASES[0])
    first, again = household_for(case), household_for(case)
    assert first == again
    assert first.speaker.name == "周明远" and first.speaker.phone == "13912345678"
    assert first.subject.name == "周大山" and first.subject_in_household  # a parent in the speaker's 户
    platform = CityPlatform(first, key=b"k")
    held = platform.licences(VerifiedIdentity(id_number=first.speaker.id_number, name=first.speaker.name))
    assert {lc.holder_id for lc in held} == {first.speaker.id_number, first.subject.id_number}
    assert {lc.licence for lc in held if lc.holder_id == first.subject.id_number} == {"居民户口簿"}
    # the subject signing in sees their own page, not the speaker's licences
    theirs = platform.licences(VerifiedIdentity(id_number=first.subject.id_number, name=first.subject.name))
    assert all(lc.licence == "居民户口簿" for lc in theirs)
    agent = Case.model_validate({**CASES[0], "id": "t-agent", "expect": {**CASES[0]["expect"], "relation": "agent"}})
    assert not household_for(agent).subject_in_household
