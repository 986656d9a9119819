"""Which neighbour an application means, by what it asks done (agent/data/actions.yaml): the form step moves an
application from the route retrieval or a named alias gave to the neighbour among the confident hits whose title holds
the action said (查验, 认证, 换, 补), and only then. Real shipped corpus and FormStep; hits in the order retrieval gave
them for such messages (scores made up: the ranking is the input here, the eval sets measure the retriever)."""
from __future__ import annotations

import pytest

from agent.forms.actions import ActionRoute
from agent.forms.step import FormStep
from agent.reply import Route
from agent.router import RouteDecision, RouteReason
from corpus.loader import load_corpus
from daoban.settings import load_settings
from index.types import Hit

VACCINATION = "vaccination-certificate"          # 预防接种证办理
VACCINATION_CHECK = "vaccination-record-check"   # 入托入学预防接种证查验
ID_FIRST = "resident-id-card-first-application"  # 居民身份证首次申领
ID_RENEWAL = "resident-id-card-renewal"          # 居民身份证换领、补领
PENSION = "enterprise-pension-application"       # 企业职工基本养老保险待遇申领
CERTIFICATION = "pension-eligibility-certification"  # 社会保险待遇领取资格认证
SSC_REPLACEMENT = "social-security-card-replacement"  # 社会保障卡补领、换领


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(load_settings().corpus_dir)


@pytest.fixture(scope="module")
def step(corpus):
    return FormStep(corpus, None, 1.0)


def _hits(corpus, *ids: str) -> list[Hit]:
    out = []
    for i, doc_id in enumerate(ids):
        doc = corpus.get(doc_id)
        out.append(Hit(doc_id=doc.id, kind=doc.kind, title=doc.title, region=doc.region, score=0.8 - 0.1 * i,
                       confident=True))
    return out


def _target(step, corpus, text: str, route_id: str, *hit_ids: str, intent: str = "apply",
            reason: RouteReason = RouteReason.TOP_HIT) -> str:
    doc = corpus.get(route_id)
    route = Route(kind=doc.kind, id=doc.id, title=doc.title, region=doc.region, score=0.8)
    decision = RouteDecision(route=route, hits=_hits(corpus, *hit_ids), reason=reason)
    guide, _ = step.target(doc, route, decision, intent, text)
    # a matter without a form of its own is applied for through its 一件事's form
    return next((m.matter for m in getattr(guide, "members", []) if m.matter in (route_id, *hit_ids)), guide.id) \
        if guide.kind == "scenario" else guide.id


@pytest.mark.parametrize("text,route,hits,meant", [
    ("孩子上幼儿园，园里要查验接种证，我来申请", VACCINATION, (VACCINATION, VACCINATION_CHECK), VACCINATION_CHECK),
    ("闺女身份证快到期了，给她换个新的", ID_FIRST, (ID_FIRST, ID_RENEWAL), ID_RENEWAL),
    ("我爸领退休金每年那个认证该做了，帮他申请", PENSION, (PENSION, CERTIFICATION), CERTIFICATION),
    # the first hit holding 补 shares nothing with the route (社会保障卡): the ID card's neighbour is meant
    ("身份证弄丢了要补办", ID_FIRST, (ID_FIRST, SSC_REPLACEMENT, ID_RENEWAL), ID_RENEWAL),
])
def test_the_neighbour_holding_the_action_said_is_the_matter_applied_for(step, corpus, text, route, hits, meant):
    assert _target(step, corpus, text, route, *hits) == meant


@pytest.mark.parametrize("text,route,hits", [
    ("给孩子办预防接种证", VACCINATION, (VACCINATION, VACCINATION_CHECK)),  # no action word: the route stays
    ("社保卡丢了，补办，也想换个新的", SSC_REPLACEMENT, (SSC_REPLACEMENT, ID_RENEWAL)),  # the route holds 补 and 换
])
def test_the_route_stays_when_it_holds_the_action_or_none_is_said(step, corpus, text, route, hits):
    assert _target(step, corpus, text, route, *hits) == route


def test_a_consult_or_a_followup_is_not_moved(step, corpus):
    text = "幼儿园要查验预防接种证"
    assert _target(step, corpus, text, VACCINATION, VACCINATION, VACCINATION_CHECK, intent="consult") == VACCINATION
    assert _target(step, corpus, text, VACCINATION, VACCINATION, VACCINATION_CHECK,
                   reason=RouteReason.FOLLOWUP) == VACCINATION


def test_a_neighbour_below_the_no_match_threshold_is_not_taken(corpus):
    hits = _hits(corpus, VACCINATION, VACCINATION_CHECK)
    hits[1] = hits[1].model_copy(update={"confident": False})
    assert ActionRoute().neighbour(hits[0].title, "幼儿园要查验预防接种证", hits) is None


def test_a_matter_in_two_one_things_goes_through_the_one_the_conversation_reads_like(corpus):
    """出生登记 has no form of its own and belongs to 婚育一件事 and 新生儿出生一件事. With neither among the hits, the
    guide classifier chooses the 一件事 the user's words read like (a newborn's 户口), not the first id."""
    from agent.guides import GuideClassifier
    from agent.normalize import Normalizer

    birth = next(m for m in corpus.matters.values() if m.title == "出生登记（新生儿入户）")
    owners = {s.title: s.id for s in corpus.scenarios.values() if any(m.matter == birth.id for m in s.members)}
    assert {"婚育一件事", "新生儿出生一件事"} <= set(owners)
    route = Route(kind="matter", id=birth.id, title=birth.title, region=birth.region, score=0.6)
    decision = RouteDecision(route=route, hits=_hits(corpus, birth.id), reason=RouteReason.TOP_HIT)
    texts = [Normalizer().run("想给我儿子报户口，他上个月出生的")]
    guide, _ = FormStep(corpus, None, 1.0, GuideClassifier(corpus)).target(birth, route, decision, "apply",
                                                                          texts[0].search_text, texts)
    assert guide.id == owners["新生儿出生一件事"]
    # without the classifier the tie falls to the id order, which is the other one
    assert FormStep(corpus, None, 1.0).target(birth, route, decision, "apply", "", texts)[0].id \
        == min(owners.values())
