import copy
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.loader import load_corpus
from corpus.validate import errors, validate_corpus
from tests.corpus_factory import MATTER, SCENARIO, make_corpus, write_doc

REPO = Path(__file__).resolve().parent.parent


def codes(problems):
    return {p.code for p in errors(problems)}


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def test_factory_corpus_is_valid(tmp_path):
    root = make_corpus(tmp_path)
    corpus = load_corpus(root)
    assert set(corpus.scenarios) == {"test-event"}
    assert set(corpus.matters) == {"test-permit", "test-record"}
    assert errors(validate_corpus(root)) == []


def test_schema_error_reports_file_line_and_field(tmp_path):
    root = make_corpus(tmp_path)
    bad = copy.deepcopy(MATTER)
    bad["matter_type"] = "随便什么"
    bad["situations"][0]["materials"][0]["count"] = "两份"
    path = write_doc(root / "test" / "matters" / "test-permit.yaml", bad)
    problems = errors(validate_corpus(root))
    by_field = {p.field: p for p in problems}
    assert "matter_type" in by_field and "situations.0.materials.0.count" in by_field
    assert by_field["matter_type"].file.endswith("test/matters/test-permit.yaml")
    assert by_field["matter_type"].line == line_of(path, "matter_type:")
    assert by_field["situations.0.materials.0.count"].line == line_of(path, "count:")


def test_unknown_key_is_rejected(tmp_path):
    root = make_corpus(tmp_path)
    bad = copy.deepcopy(MATTER)
    bad["feee"] = "10元"
    write_doc(root / "test" / "matters" / "test-permit.yaml", bad)
    assert any(p.field == "feee" for p in errors(validate_corpus(root)))


def test_yaml_syntax_error_has_line(tmp_path):
    root = make_corpus(tmp_path)
    path = root / "test" / "matters" / "broken.yaml"
    path.write_text("id: broken\ntitle: [unclosed\nregion: 测试省\n", encoding="utf-8")
    problems = [p for p in validate_corpus(root) if p.code == "yaml"]
    assert len(problems) == 1 and problems[0].line >= 2


def test_duplicate_id_and_title(tmp_path):
    root = make_corpus(tmp_path)
    dup = copy.deepcopy(MATTER)
    dup["sample_questions"] = ["另一个问法一", "另一个问法二", "另一个问法三", "另一个问法四"]
    write_doc(root / "test" / "matters" / "zz-copy.yaml", dup)  # same id and title
    other = copy.deepcopy(dup)
    other["id"] = "test-permit-two"
    other["sample_questions"] = ["第三个问法一", "第三个问法二", "第三个问法三", "第三个问法四"]
    write_doc(root / "test" / "matters" / "zz-other.yaml", other)  # same title, new id
    problems = errors(validate_corpus(root))
    assert {"duplicate-id", "duplicate-title"} <= codes(problems)
    dup_id = next(p for p in problems if p.code == "duplicate-id")
    assert dup_id.file.endswith("zz-copy.yaml") and dup_id.line == 1


def test_dangling_member_and_form_field(tmp_path):
    root = make_corpus(tmp_path)
    bad = copy.deepcopy(SCENARIO)
    bad["members"][0]["matter"] = "no-such-matter"
    bad["form"]["fields"][3]["derived_from"] = "no_such_field"
    bad["members"][1]["when"] = {"kind": ["zzz"]}
    path = write_doc(root / "test" / "scenarios" / "test-event.yaml", bad)
    problems = [p for p in errors(validate_corpus(root)) if p.code == "dangling-ref"]
    fields = {p.field for p in problems}
    assert {"members.0.matter", "form.fields.3.derived_from", "members.1.when"} <= fields
    member = next(p for p in problems if p.field == "members.0.matter")
    assert member.line == line_of(path, "no-such-matter")


def test_form_roles_and_conditions_are_checked(tmp_path):
    root = make_corpus(tmp_path)
    bad = copy.deepcopy(SCENARIO)
    bad["form"]["subject_role"] = "nobody"
    bad["form"]["fields"][0]["role"] = "stranger"
    bad["form"]["fields"][1]["when"] = {"no_such_field": ["是"]}
    write_doc(root / "test" / "scenarios" / "test-event.yaml", bad)
    matter = copy.deepcopy(MATTER)
    matter["form"] = {"id": "test-event-form", "title": "测试申请表", "fields": [
        {"key": "applies_for", "label": "办理方式", "type": "enum", "options": ["本人办理", "代他人办理", "其他"]},
        {"key": "subject_name", "label": "姓名", "type": "text", "role": "subject"},
        {"key": "agent_name", "label": "代办人姓名", "type": "text", "role": "agent", "when": {"applies_for": ["代办"]}}]}
    write_doc(root / "test" / "matters" / "test-permit.yaml", matter)
    problems = errors(validate_corpus(root))
    by = {(p.file.rsplit("/", 1)[-1], p.field, p.code) for p in problems}
    assert ("test-event.yaml", "form.subject_role", "unknown-role") in by
    assert ("test-event.yaml", "form.fields.0.role", "unknown-role") in by
    assert ("test-event.yaml", "form.fields.1.when", "dangling-ref") in by
    assert ("test-permit.yaml", "form.fields.0", "form") in by  # applies_for has two options
    assert ("test-permit.yaml", "form.fields.2.when", "dangling-ref") in by  # 代办 is not one of its options
    assert ("test-permit.yaml", "form.id", "duplicate-id") in by  # the scenario's form id


def test_every_matter_has_an_application_form(tmp_path):
    corpus = load_corpus(make_corpus(tmp_path))
    for m in corpus.matters.values():
        form = m.application_form
        assert form is m.generic_form and corpus.guide_by_form(form.id) is m
        situations = next((f for f in form.fields if f.key == "situation"), None)
        assert (situations.options if situations else []) == ([s.title for s in m.situations]
                                                               if len(m.situations) > 1 else [])
        assert any(f.role == "agent" and f.when for f in form.fields), "代办人 fields under 代他人办理"
    company = copy.deepcopy(corpus.matters["test-permit"])
    company.audience = ["法人"]
    from corpus.generic_form import generic_form
    form = generic_form(company)
    assert form.subject_role == "company" and {"company", "legal_rep", "agent"} <= {f.role for f in form.fields}


def test_empty_materials(tmp_path):
    root = make_corpus(tmp_path)
    bad = copy.deepcopy(MATTER)
    bad["situations"][0]["materials"] = []
    path = write_doc(root / "test" / "matters" / "test-permit.yaml", bad)
    problems = [p for p in errors(validate_corpus(root)) if p.code == "empty-materials"]
    assert len(problems) == 1 and problems[0].line == line_of(path, "materials:")


def test_time_limit_not_a_number_of_days(tmp_path):
    root = make_corpus(tmp_path)
    bad = copy.deepcopy(MATTER)
    bad["time_limit"] = {"legal_days": "二十个工作日"}
    path = write_doc(root / "test" / "matters" / "test-permit.yaml", bad)
    problems = [p for p in errors(validate_corpus(root)) if p.code == "time-limit"]
    assert len(problems) == 1
    assert problems[0].line == line_of(path, "legal_days")
    assert "working days" in problems[0].message


def test_identical_sample_question_in_two_documents(tmp_path):
    root = make_corpus(tmp_path)
    bad = copy.deepcopy(SCENARIO)
    bad["sample_questions"][2] = "测试证怎么办？"  # same as the matter's, up to punctuation
    write_doc(root / "test" / "scenarios" / "test-event.yaml", bad)
    problems = [p for p in errors(validate_corpus(root)) if p.code == "duplicate-sample-question"]
    assert len(problems) == 1
    # reported on one of the two documents, naming the other
    where, other = ("test-permit", "test-event") if "test-permit" in problems[0].file else ("test-event", "test-permit")
    assert other in problems[0].message and where in problems[0].file


def test_cli_validate_reports_every_problem_and_exits_nonzero(tmp_path):
    root = make_corpus(tmp_path)
    bad = copy.deepcopy(MATTER)
    bad["time_limit"] = {"legal_days": "五天"}
    bad["situations"][0]["materials"] = []
    write_doc(root / "test" / "matters" / "test-permit.yaml", bad)
    run = subprocess.run([sys.executable, "-m", "daoban.cli", "corpus", "validate", "--root", str(root)],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 1
    assert "test-permit.yaml:" in run.stdout
    assert "[time-limit]" in run.stdout and "[empty-materials]" in run.stdout
    ok = subprocess.run([sys.executable, "-m", "daoban.cli", "corpus", "validate", "--root", str(make_corpus(tmp_path / "ok"))],
                        capture_output=True, text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_shipped_corpus_validates():
    problems = validate_corpus()
    assert errors(problems) == [], "\n".join(str(p) for p in errors(problems)[:20])


def test_shipped_corpus_meets_the_coverage_targets():
    corpus = load_corpus()
    shandong_scenarios = [s for s in corpus.scenarios.values() if s.region == "山东省"]
    shandong_matters = [m for m in corpus.matters.values() if m.region == "山东省"]
    assert len(shandong_scenarios) >= 35
    assert len(shandong_matters) >= 150
    for s in shandong_scenarios:
        assert len(s.sample_questions) >= 8, s.id
        keys = {f.key for f in s.form.fields}
        assert {"applicant_name", "applicant_id_number", "applicant_phone"} <= keys, s.id
    for m in shandong_matters:
        assert len(m.sample_questions) >= 4, m.id
    titles = {s.title.removesuffix("一件事") for s in shandong_scenarios}
    required = ["新生儿出生", "教育入学", "社会保障卡居民服务", "残疾人服务", "退休", "二手房转移登记及水电气网联动过户",
                "身后", "企业开办", "企业信息变更", "开办运输企业", "开办餐饮店", "水电气网联合报装", "信用修复",
                "企业破产信息核查", "企业上市合法合规信息核查", "企业注销", "员工录用", "个人创业", "新房购置",
                "申请教师资格", "申请公租房", "幼儿园入学", "工伤待遇申领", "建设项目开工", "船舶营运", "5G基站",
                "项目用海审批"]
    assert [t for t in required if t not in titles] == []
    matter_titles = {m.title for m in shandong_matters}
    for single in ["住房公积金查询", "住房公积金提取", "社保信息查询", "无犯罪记录证明开具", "居民身份证换领", "居住证办理"]:
        assert any(single in t for t in matter_titles), single
    declared = {m.id for m in shandong_matters if m.form is not None}
    assert len(declared) >= 60
    assert {"criminal-record-certificate", "housing-fund-withdrawal", "housing-fund-query",
            "social-insurance-record-query", "resident-id-card-renewal", "residence-permit"} <= declared
    assert all(m.application_form is not None for m in corpus.matters.values())


@pytest.mark.parametrize("region_name", ["四川省广安市广安区"])
def test_shipped_catalogue_region(region_name):
    corpus = load_corpus()
    catalog = [c for c in corpus.catalog.values() if c.region == region_name]
    assert len(catalog) == 1135
    assert len({c.department for c in catalog}) == 34
    assert all(c.link and c.link.startswith("http") for c in catalog)
