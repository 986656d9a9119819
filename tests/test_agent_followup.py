"""Follow-ups answered by the guide that holds what they ask (agent/followup.py), on the real index over the real
corpus slice (tests/conftest_agent.py), no LLM. Expected facts are read from the corpus YAML."""
from __future__ import annotations

import pytest

from agent.followup import FollowupHolder
from agent.pipeline import Assistant
from agent.session import InMemorySessionStore
from tests.conftest_agent import corpus, settings  # noqa: F401 - fixtures

CERTIFICATE = "birth-medical-certificate"   # 出生医学证明首次签发, a member of newborn-birth
NEWBORN = "newborn-birth"


@pytest.fixture(scope="module")
def assistant(settings):
    return Assistant.from_settings(settings, session_store=InMemorySessionStore())


def _month_sentences(corpus) -> list[str]:
    """The sentences of the newborn bundle that say within what time a birth is registered (read from the YAML)."""
    from agent.evidence import sentences_of

    docs = [corpus.get(NEWBORN), *(corpus.get(m.matter) for m in corpus.get(NEWBORN).members)]
    return [s.text for d in docs if d is not None for s in sentences_of(d)
            if "一个月" in s.text and ("户口" in s.text or "出生登记" in s.text)]


def _talk(assistant, *messages):
    sid, replies = None, []
    for m in messages:
        replies.append(assistant.handle(m, session_id=sid))
        sid = replies[-1].session_id
    return replies


def test_a_follow_up_whose_detail_a_neighbouring_matter_holds_is_answered_from_it(assistant, corpus):
    held = _month_sentences(corpus)
    assert held, "the newborn guides state the one-month limit"
    first, second = _talk(assistant, "出生医学证明到哪儿去领", "那给娃登记户口有期限吗")
    assert first.route is not None and first.route.id == CERTIFICATE
    # the certificate's guide does not hold it: the route moves within the 一件事 to the guide that does
    assert second.route is not None and second.route.id != CERTIFICATE
    assert second.route.id == NEWBORN or second.route.id in {m.matter for m in corpus.get(NEWBORN).members}
    lead = second.answer.splitlines()[0]
    assert any(s in lead for s in held), lead
    assert second.citations[0].doc_id in (second.route.id, NEWBORN) or second.citations[0].doc_id in \
        {m.matter for m in corpus.get(NEWBORN).members}


def _insurance_days(corpus) -> list[str]:
    from agent.evidence import sentences_of

    return [s.text for s in sentences_of(corpus.get("resident-medical-insurance-enrollment"))
            if "出生后" in s.text and "日内" in s.text]


@pytest.mark.parametrize("follow_up", ["证明丢了能补吗", "那要多久", "在哪个窗口领"])
def test_a_follow_up_the_current_guide_answers_stays_on_it(assistant, follow_up):
    _, second = _talk(assistant, "出生医学证明到哪儿去领", follow_up)
    assert second.route is not None and second.route.id == CERTIFICATE


@pytest.mark.parametrize("holder_on", [True, False])
def test_a_member_holding_the_detail_answers_a_question_about_the_一件事(assistant, corpus, monkeypatch, holder_on):
    """After the 一件事, a detail one member matter states (the 一件事's own time limits are of other steps): the
    reply leads with that member's sentence. Switched off, the 一件事's own closest sentence (the month for the
    户口) is what the user reads: the case this stage exists for."""
    held = _insurance_days(corpus)
    assert held
    if not holder_on:
        monkeypatch.setattr(assistant.followup, "run", lambda msg, session, decision, intent, region: decision)
    first, second = _talk(assistant, "新生儿出生一件事怎么办", "那医保出生后多少天内要交")
    assert first.route.id == NEWBORN
    lead = second.answer.splitlines()[0]
    assert any(s in lead for s in held) == holder_on, lead


def test_the_holder_needs_a_clear_margin_and_a_new_topic_more_than_the_bundle():
    pick = FollowupHolder._holder
    # a bundle guide above the current one by the margin
    assert pick({None: 0.5, "a": 1.0}, {"a"}, set()) == "a"
    assert pick({None: 0.9, "a": 1.0}, {"a"}, set()) is None
    # a guide only retrieval found must stand above the bundle too, not just above the current guide
    assert pick({None: 0.5, "a": 1.3, "far": 1.35}, {"a"}, {"far"}) == "a"
    assert pick({None: 0.5, "a": 0.7, "far": 1.35}, {"a"}, {"far"}) == "far"
    # nothing reaches the floor
    assert pick({None: 0.1, "a": 0.5}, {"a"}, set()) is None


@pytest.mark.parametrize("text, on_route, expected", [
    ("孩子太小了，能不能让爷爷帮忙去领", True, "consult"),      # a detail of the service in hand
    ("能不能让你们的工作人员跟我说", True, "human"),           # names one of ours
    ("可以转人工吗", True, "human"),
    ("孩子太小了，能不能让爷爷帮忙去领", False, "human"),      # no service in hand: nothing to ask about
])
def test_a_detail_question_read_as_a_request_for_a_person_is_asked_of_the_route(assistant, text, on_route, expected):
    """The classifier may read 让家里人替我去办 as 'let a person do it' (human); with a service in hand and no word for
    one of ours, it asks a detail of that service. The intent is set as the classifier would have it."""
    from agent.intent import IntentResult
    from agent.reply import Route
    from agent.session import SessionState
    from agent.turn import Understood

    card = assistant.corpus.get("social-security-card-application")
    session = SessionState(session_id="t", route=Route(kind=card.kind, id=card.id, title=card.title,
                                                       region=card.region, score=1.0) if on_route else None)
    seen = Understood(assistant.normalizer.run(text), IntentResult("human", 0.6, {"human": 0.6}))
    assert assistant.scope.run(seen, session, None).intent.name == expected

