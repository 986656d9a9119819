"""The harness's own scoring, on hand-made replies: a resolved case and each way a case can fail."""
import json

import pytest

from agent.reply import Citation, Clarify, ClarifyOption, FormFieldValue, FormState, Intent, Reply, Route
from eval.cases import Case, CaseFileError, load_cases
from eval.metrics import compare, percentile, summarize
from eval.report import write_report
from eval.scoring import score_case, titles_match


def reply(intent="consult", route=None, answer="", citations=1, clarify=None, form=None, handoff=False, latency=10,
          clarify_kind="route"):
    return Reply(
        session_id="s", intent=Intent(name=intent, confidence=0.9),
        route=Route(kind="scenario", id="x", title=route, region="山东省", score=0.8) if route else None,
        answer=answer,
        citations=[Citation(doc_id="x", title=route or "", section="materials", snippet="…")] * citations,
        clarify=Clarify(question="您想办哪一项？", options=[ClarifyOption(id=f"o{i}", title=t) for i, t in enumerate(clarify)],
                        kind=clarify_kind) if clarify else None,
        form=FormState(form_id="f", scenario_id="x", fields=[
            FormFieldValue(key=k, label=label, type="text", value=v) for k, label, v in form]) if form else None,
        handoff=handoff, latency_ms=latency)


_ids = iter(range(10_000))


def case(kind, **expect):
    return Case(id=f"c{next(_ids)}", query="问题", expect={"kind": kind, **expect})


CONSULT = dict(target="新生儿出生一件事", must=["出生医学证明", "户口|户籍"], must_not=["收费500元"])


def test_titles_match_ignores_suffix_quotes_and_spaces():
    assert titles_match("新生儿出生一件事", "“新生儿 出生”")
    assert titles_match("《企业开办》一件事", "企业开办")
    assert not titles_match("企业开办", "企业注销")
    assert not titles_match(None, "企业开办")


def test_consult_resolved():
    r = score_case(case("consult", **CONSULT), reply(route="新生儿出生", answer="需要出生医学证明、户籍资料。"))
    assert r.resolved and r.reasons == [] and r.route_ok


@pytest.mark.parametrize("kwargs, reason", [
    (dict(route="企业开办", answer="出生医学证明 户口"), "route"),
    (dict(route="新生儿出生", answer="只需要出生医学证明"), "answer lacks '户口|户籍'"),
    (dict(route="新生儿出生", answer="出生医学证明 户口 收费500元"), "answer contains '收费500元'"),
    (dict(route="新生儿出生", answer="出生医学证明 户口", citations=0), "no citation"),
])
def test_consult_failures(kwargs, reason):
    r = score_case(case("consult", **CONSULT), reply(**kwargs))
    assert not r.resolved
    assert any(reason in x for x in r.reasons), r.reasons


def test_apply_resolved_and_failures():
    exp = dict(target="企业开办", slots={"姓名": "王丽", "身份证": "370602199001011234", "手机|电话": "13912345678"})
    form = [("applicant_name", "申请人姓名", "王丽"), ("applicant_id_number", "申请人身份证号", "370602199001011234"),
            ("applicant_phone", "联系电话", "139-1234-5678")]
    ok = score_case(case("apply", **exp), reply("apply", route="企业开办一件事", form=form))
    assert ok.resolved and ok.slots.true_positive == 3
    no_form = score_case(case("apply", **exp), reply("apply", route="企业开办"))
    assert not no_form.resolved and "no form opened" in no_form.reasons
    wrong = form[:2] + [("applicant_phone", "联系电话", "13800000000")]
    bad = score_case(case("apply", **exp), reply("apply", route="企业开办", form=wrong))
    assert not bad.resolved and bad.slots.false_positive == 1 and bad.slots.true_positive == 2
    missing = score_case(case("apply", **exp), reply("apply", route="企业开办", form=form[:2] + [("applicant_phone", "联系电话", None)]))
    assert missing.slots.false_negative == 1 and any("not filled" in x for x in missing.reasons)


def test_clarify():
    exp = dict(options=["住房公积金提取", "养老保险"])
    asked = score_case(case("clarify", **exp), reply(route=None, clarify=["住房公积金提取", "企业年金提取"]))
    assert asked.resolved and asked.clarified
    direct = score_case(case("clarify", **exp), reply(route="住房公积金提取"))
    assert direct.resolved
    wrong = score_case(case("clarify", **exp), reply(route="企业开办"))
    assert not wrong.resolved and "no clarifying question" in wrong.reasons[0]
    off = score_case(case("clarify", **exp), reply(clarify=["结婚登记", "离婚登记"]))
    assert not off.resolved
    # A 情形 question of a routed service is not a which-service question, even when its options match.
    situation = score_case(case("clarify", **exp), reply(route="企业开办", clarify=["住房公积金提取", "本省户籍"],
                                                         clarify_kind="situation"))
    assert not situation.resolved and not situation.clarified
    # A case with no options is resolved by any which-service question, not by a route or a 情形 question.
    assert score_case(case("clarify"), reply(clarify=["结婚登记", "离婚登记"])).resolved
    assert not score_case(case("clarify"), reply(route="企业开办")).resolved
    assert not score_case(case("clarify"), reply(route="企业开办", clarify=["本省户籍", "外省户籍"],
                                                 clarify_kind="situation")).resolved
    consult = score_case(case("consult", target="住房公积金提取"),
                         reply(route="住房公积金提取", answer="…", clarify=["本市缴存", "异地缴存"], clarify_kind="situation"))
    assert consult.resolved and not consult.clarified


def test_out_of_scope_complaint_human_status():
    assert score_case(case("out_of_scope"), reply("out_of_scope", answer="抱歉，这个问题我无法回答。")).resolved
    routed = score_case(case("out_of_scope"), reply("consult", route="企业开办", answer="…"))
    assert not routed.resolved and len(routed.reasons) == 2
    assert not score_case(case("chitchat"), reply("chitchat", answer=" ")).resolved
    assert score_case(case("complaint"), reply("complaint", answer="可拨打12345反映")).resolved
    assert not score_case(case("complaint"), reply("complaint", answer="好的")).resolved
    assert score_case(case("human"), reply("human", handoff=True, answer="正在转人工")).resolved
    assert not score_case(case("human"), reply("human", answer="正在转人工")).resolved
    assert score_case(case("query_status", must=["办件查询"]), reply("query_status", answer="请在爱山东办件查询")).resolved


def test_summary_metrics_and_report(tmp_path):
    results = [
        score_case(case("consult", **CONSULT), reply(route="新生儿出生", answer="出生医学证明 户口", latency=20), target_rank=1),
        score_case(case("consult", **CONSULT), reply(route="企业开办", answer="x", latency=40), target_rank=3),
        score_case(case("clarify", options=["住房公积金提取"]), reply(clarify=["住房公积金提取"], latency=30)),
        score_case(case("consult", **CONSULT), reply(clarify=["新生儿出生"], latency=200), target_rank=None),
    ]
    s = summarize(results)
    assert s.cases == 4 and s.resolved == 2 and s.resolution_rate == 0.5
    assert s.retrieval_recall_at_1 == round(1 / 3, 4) and s.retrieval_recall_at_5 == round(2 / 3, 4)
    assert s.retrieval_mrr == round((1 + 1 / 3) / 3, 4)
    assert s.clarify_precision == 0.5 and s.clarify_recall == 1.0
    assert s.routing_top1 == round(1 / 3, 4)
    assert s.latency_p95_ms == 200 and percentile([1, 2, 3, 4], 50) == 2
    assert s.confusion["consult"]["consult"] == 3
    paths = write_report(tmp_path, s, results, {"set": "hand", "llm": "none"})
    page = paths["html"].read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "咨询解决率 50.0%" in page
    saved = json.loads(paths["json"].read_text(encoding="utf-8"))
    better = dict(saved, resolution_rate=0.75, failures=saved["failures"][:1])
    rows = {r["metric"]: r for r in compare(saved, better)}
    assert rows["resolution_rate"]["change"] == 0.25
    assert len(rows["newly_resolved"]["new"]) == 1


def test_case_file_errors_are_reported_with_lines(tmp_path):
    f = tmp_path / "cases.jsonl"
    f.write_text("\n".join([
        json.dumps({"id": "a", "query": "公积金怎么取", "expect": {"kind": "consult", "target": "住房公积金提取"}}),
        "{not json",
        json.dumps({"id": "b", "expect": {"kind": "human"}}),
        json.dumps({"id": "c", "query": "x", "expect": {"kind": "consult"}}),
        json.dumps({"id": "a", "query": "y", "expect": {"kind": "human"}}),
    ]), encoding="utf-8")
    with pytest.raises(CaseFileError) as exc:
        load_cases(f)
    text = str(exc.value)
    assert "cases.jsonl:2" in text and "cases.jsonl:3" in text and "cases.jsonl:4" in text and "duplicate" in text


def test_alternative_targets_traditional_answers_and_exact_slot_labels():
    assert titles_match("开饭店卫生许可问答", "公共场所卫生许可|开饭店卫生许可问答")
    traditional = score_case(case("consult", **CONSULT), reply(route="新生儿出生", answer="需要出生醫學證明和戶口簿。"))
    assert traditional.resolved, traditional.reasons
    exp = dict(target="企业开办", slots={"出生日期": "2026-11-16"})
    form = [("baby_birth_date", "出生日期", "2026-11-16"), ("applicant_birth_date", "申请人出生日期", "1990-03-07")]
    r = score_case(case("apply", **exp), reply("apply", route="企业开办", form=form))
    assert r.resolved and r.slots.false_positive == 0


def test_the_other_half_of_a_bundle_counts_when_the_facts_are_there():
    """A consult answered by the 一件事's member matter (or the 一件事 of the expected matter) is routed right
    when the answer holds every required fact; without the facts, or for an unrelated guide, it is not."""
    from eval.scoring import Bundles

    bundles = Bundles([("新生儿出生一件事", "出生登记"), ("企业开办一件事", "设立登记")])
    facts = "需要出生医学证明、户籍资料。"
    member = score_case(case("consult", **CONSULT), reply(route="出生登记", answer=facts), bundles=bundles)
    assert member.resolved and member.route_ok
    assert not score_case(case("consult", **CONSULT), reply(route="出生登记", answer=facts)).resolved  # no bundles
    lacking = score_case(case("consult", **CONSULT), reply(route="出生登记", answer="需要出生医学证明。"),
                         bundles=bundles)
    assert not lacking.resolved and any(r.startswith("route") for r in lacking.reasons)
    unrelated = score_case(case("consult", **CONSULT), reply(route="设立登记", answer=facts), bundles=bundles)
    assert not unrelated.resolved
    scenario = score_case(case("consult", target="出生登记", must=["出生医学证明"]),
                          reply(route="新生儿出生一件事", answer=facts), bundles=bundles)
    assert scenario.resolved


def test_bundles_from_corpus_pair_each_faq_with_its_guides():
    from corpus.loader import load_corpus
    from eval.scoring import Bundles
    from tests.conftest_agent import ROOT

    corpus = load_corpus(ROOT / "corpus" / "data")
    bundles = Bundles.from_corpus(corpus)
    faq = corpus.faqs["faq-pension-certification-missed"]
    guide = corpus.get(faq.related[0]).title
    assert bundles.related(guide, faq.question) and bundles.related(faq.question, guide)
    unrelated = next(m.title for m in corpus.matters.values() if m.id not in faq.related)
    assert not bundles.related(unrelated, faq.question)



def people_form(subject_role, fields):
    return FormState(form_id="f", scenario_id="x", subject_role=subject_role, fields=[
        FormFieldValue(key=k, label=k, type=t, role=role, value=v, required=True) for k, t, role, v in fields])


def apply_case(**expect):
    return case("apply", target="居民身份证换领", **expect)


FATHER = {"name": "周建国", "id_number": "370102195503071234"}
SON = {"name": "周晓明", "phone": "13869125537"}


def test_people_for_another_person_by_role():
    form = people_form("subject", [("subject_name", "text", "subject", "周建国"),
                                   ("subject_id_number", "id_number", "subject", "370102195503071234"),
                                   ("agent_name", "text", "agent", "周晓明"),
                                   ("agent_phone", "phone", "agent", "13869125537"),
                                   ("pickup", "enum", None, None)])
    r = score_case(apply_case(people={"speaker": SON, "subject": FATHER}, relation="child"),
                   reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form}))
    assert r.resolved, r.reasons
    assert (r.slots.true_positive, r.slots.false_negative, r.slots.unplaced) == (4, 0, 0)
    assert (r.required_fields, r.prefilled_fields) == (5, 4)


def test_people_swapped_persons_fail():
    """The father's name in the agent field and the son's in the subject field is two wrong slots."""
    form = people_form("subject", [("subject_name", "text", "subject", "周晓明"),
                                   ("agent_name", "text", "agent", "周建国")])
    r = score_case(apply_case(people={"speaker": {"name": "周晓明"}, "subject": {"name": "周建国"}}, relation="child"),
                   reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form}))
    assert not r.resolved
    assert (r.slots.true_positive, r.slots.false_positive, r.slots.false_negative) == (0, 2, 2)
    assert any("subject name" in x for x in r.reasons)


def test_people_subject_role_and_relation_roles():
    """A mother applying for her newborn: the child's facts go to the form's subject role (child), hers to the
    applicant and mother fields; a fact with no field for that person is unplaced, not a miss."""
    form = people_form("child", [("baby_name", "text", "child", "王子墨"),
                                 ("applicant_name", "text", "applicant", "孙晓雯"),
                                 ("mother_id_number", "id_number", "mother", "370203199304226741")])
    r = score_case(apply_case(people={"speaker": {"name": "孙晓雯", "id_number": "370203199304226741",
                                                  "phone": "13869125537"},
                                      "subject": {"name": "王子墨"}}, relation="mother"),
                   reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form}))
    assert r.resolved, r.reasons
    assert (r.slots.true_positive, r.slots.unplaced) == (3, 1)


def test_people_self_application_fills_subject_fields():
    form = people_form("subject", [("subject_name", "text", "subject", "周建国"),
                                   ("agent_name", "text", "agent", None)])
    r = score_case(apply_case(people={"speaker": {"name": "周建国"}}),
                   reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form}))
    assert r.resolved and r.slots.true_positive == 1


def test_people_relation_goes_with_subject():
    with pytest.raises(ValueError):
        apply_case(people={"speaker": SON}, relation="child")
    with pytest.raises(ValueError):
        apply_case(people={"speaker": SON, "subject": FATHER})


def test_apply_routed_to_the_other_half_of_its_bundle_counts_when_a_form_opens():
    from eval.scoring import Bundles
    bundles = Bundles([("新生儿出生一件事", "出生登记（新生儿入户）")])
    form = people_form("child", [("baby_name", "text", "child", "王子墨")])
    c = case("apply", target="出生登记（新生儿入户）", people={"speaker": {}, "subject": {"name": "王子墨"}},
             relation="mother")
    opened = score_case(c, reply(intent="apply", route="新生儿出生一件事").model_copy(update={"form": form}),
                        bundles=bundles)
    assert opened.resolved and opened.route_ok and opened.route_exact is False
    assert not score_case(c, reply(intent="apply", route="新生儿出生一件事"), bundles=bundles).resolved
    assert summarize([opened]).strict_resolution_rate == 0.0


def test_people_a_company_is_applied_for_by_its_representative():
    """On a form whose subject is a company, the speaker's own facts belong in the 法定代表人 or 经办人 fields (a person
    is never the company), and the company's name in the company's."""
    form = people_form("company", [("company_name", "text", "company", "淄博恒通物流有限公司"),
                                   ("legal_rep_name", "text", "legal_rep", "牛建华"),
                                   ("agent_phone", "phone", "agent", "13869125537")])
    speaker = {"name": "牛建华", "phone": "13869125537"}
    said = score_case(apply_case(people={"speaker": speaker, "subject": {"name": "淄博恒通物流有限公司"}}, relation="agent"),
                      reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form}))
    alone = score_case(apply_case(people={"speaker": speaker}),
                       reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form}))
    assert said.resolved and alone.resolved, (said.reasons, alone.reasons)
    assert said.slots.true_positive == 3 and alone.slots.true_positive == 2
    # the speaker's name in the company's field is still wrong
    wrong = people_form("company", [("company_name", "text", "company", "牛建华"),
                                    ("legal_rep_name", "text", "legal_rep", None)])
    assert not score_case(apply_case(people={"speaker": {"name": "牛建华"}}),
                          reply(intent="apply", route="居民身份证换领").model_copy(update={"form": wrong})).resolved


def test_people_on_a_couples_form_either_side_holds_either_spouse():
    """A form whose subject is the applicant with a spouse's side (申请人（男方）/女方) is the couple's: the sides go by
    sex, so the wife applied for by her husband is judged on either side, and so is he; a fact in no field still fails."""
    form = people_form("applicant", [("applicant_name", "text", "applicant", "彭旭"),
                                     ("spouse_name", "text", "spouse", "司马静")])
    people = {"speaker": {"name": "彭旭"}, "subject": {"name": "司马静"}}
    assert score_case(apply_case(people=people, relation="spouse"),
                      reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form})).resolved
    empty = people_form("applicant", [("applicant_name", "text", "applicant", "彭旭"),
                                      ("spouse_name", "text", "spouse", None)])
    assert not score_case(apply_case(people=people, relation="spouse"),
                          reply(intent="apply", route="居民身份证换领").model_copy(update={"form": empty})).resolved
    # a parent's form is no couple's: the child is judged in the subject's fields only
    child = people_form("applicant", [("applicant_name", "text", "applicant", "周晓明"),
                                      ("spouse_name", "text", "spouse", "周建国")])
    assert not score_case(apply_case(people={"speaker": {"name": "周晓明"}, "subject": {"name": "周建国"}},
                                     relation="child"),
                          reply(intent="apply", route="居民身份证换领").model_copy(update={"form": child})).resolved


def test_people_on_a_one_person_form_a_spouse_who_speaks_has_no_field():
    """A form for its applicant with no spouse's side (失业登记: 姓名, 身份证号, 联系电话) is no couple's: the wife who
    applies for her husband has no field on it, so her name is unplaced, not wrong; his name is still judged there."""
    form = people_form("applicant", [("applicant_name", "text", "applicant", "钱立成"),
                                     ("applicant_phone", "phone", "applicant", "13027914631")])
    people = {"speaker": {"name": "仲晓丽", "phone": "13027914631"}, "subject": {"name": "钱立成"}}
    got = score_case(apply_case(people=people, relation="spouse"),
                     reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form}))
    assert got.resolved and got.slots.true_positive == 1 and got.slots.unplaced == 2, got.reasons
    wrong = people_form("applicant", [("applicant_name", "text", "applicant", "仲晓丽")])
    assert not score_case(apply_case(people=people, relation="spouse"),
                          reply(intent="apply", route="居民身份证换领").model_copy(update={"form": wrong})).resolved


def test_people_a_company_applies_about_its_employee():
    """A company's 减员 for an employee: the case's subject is the employee, held in the employee's fields; the
    company's own name field never stands for a person, and the employee's name elsewhere is still wrong."""
    def form(employee):
        return people_form("company", [("company_name", "text", "company", None),
                                       ("agent_name", "text", "agent", "韩冰"),
                                       ("employee_name", "text", "employee", employee)])
    c = apply_case(people={"speaker": {"name": "韩冰"}, "subject": {"name": "郭磊"}}, relation="agent")
    right = score_case(c, reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form("郭磊")}))
    assert right.resolved and right.slots.true_positive == 2, right.reasons
    wrong = score_case(c, reply(intent="apply", route="居民身份证换领").model_copy(update={"form": form("韩冰")}))
    assert not wrong.resolved


def test_precise_answer_rate_counts_facts_stated_in_the_first_line():
    first = score_case(case("consult", **CONSULT), reply(route="新生儿出生", answer="需要出生医学证明和户口簿。\n其余内容"))
    later = score_case(case("consult", **CONSULT), reply(route="新生儿出生", answer="关于新生儿出生：\n出生医学证明 户口"))
    misrouted = score_case(case("consult", **CONSULT), reply(route="企业开办", answer="出生医学证明 户口"))
    no_facts = score_case(case("consult", target="新生儿出生一件事"), reply(route="新生儿出生", answer="x"))
    assert first.resolved and later.resolved  # both answer; only the first states the detail first
    assert (first.fact_first, later.fact_first, misrouted.fact_first, no_facts.fact_first) == (True, False, None, None)
    assert summarize([first, later, misrouted, no_facts]).precise_answer_rate == 0.5
