"""The assistant: one message (plus the session) in, one ``Reply`` out.

The turn (``Assistant._turn``) runs top to bottom through small stages, one module each:

    Normalizer -> Intent -> Guard -> Scope -> responders (by intent) | Router -> Follow-up holder -> Situations (情形) -> Forms
    -> Composer -> Evidence (detail questions) -> Phraser (optional) -> Verifier -> Formatter

It never raises for user input: an internal failure becomes a polite reply and a log line."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Iterator

from agent.compose import AnswerComposer, Composed
from agent.context import ContextWords, FormContext, FormTurn
from agent.evidence import MAX_LINES, EvidenceFinder
from agent.followup import FollowupHolder
from agent.forms.drafts import FormDrafts
from agent.forms.step import FormStep
from agent.forms.text import corrections, missing_prompt
from agent.formatter import ChannelFormatter
from agent.guard import Guard, GuardStage
from agent.guides import GuideClassifier
from agent.homophones import HomophoneReader
from agent.intent import IntentClassifier, IntentResult, IntentStep, load_examples
from agent.lookalike import LookAlikes
from agent.llm import LLMUnavailable, RunnerChat, get_chat_model, max_concurrency_for, shared_runner
from agent.normalize import MAX_MESSAGE_CHARS, Normalizer, PinyinReader
from agent.phraser import SYSTEM_PROMPT, LLMPhraser
from agent.privacy import install_log_masking
from agent.reply import Clarify, FormState, Intent, LeadOutcome, Reply, Route
from agent.responders import Ask, NoMatchResponder, ReplyTexts, Simple, department_hint, responder_table
from agent.router import PeopleWords, RouteDecision, RouteReason, Router
from agent.scope import ScopeCheck
from agent.session import InMemorySessionStore, PendingClarify, SessionState, SessionStore, Turn
from agent.situations import SituationResolver
from agent.turn import ChannelName, TurnContext, Understood
from agent.verifier import Verifier
from corpus.loader import load_corpus
from index.retriever import HybridRetriever

if TYPE_CHECKING:
    from agent.status import StatusLookup
    from corpus.loader import Corpus
    from daoban.settings import Settings

log = logging.getLogger("daoban.agent")

FAILURES_BEFORE_HANDOFF = 2
HELD_ROUTE_SCORE = 0.9  # data given while "which service?" waits routes on a hit this sure, else the question stays
_CLEARS_PENDING = ("out_of_scope", "chitchat", "complaint", "human", "query_status")


@dataclass
class Draft:
    """The composed answer of a routed turn, and how to make the reply from a text (with or without a lead)."""

    answer: str
    reply: Callable[[str, LeadOutcome | None], Reply]


class Assistant:
    def __init__(self, settings: "Settings", corpus: "Corpus", retriever, classifier: IntentClassifier,
                 session_store: SessionStore | None = None, status_lookup: "StatusLookup | None" = None,
                 chat_model=None, session_locks: Callable[[str], AbstractContextManager] | None = None):
        self.settings = settings
        self.corpus = corpus
        self.retriever = retriever
        self.sessions: SessionStore = session_store if session_store is not None else InMemorySessionStore()
        self.stats: Counter[str] = Counter()
        # this assistant's budget over the model's one runner (other assistants may share it with their own)
        self.runner = RunnerChat(shared_runner(chat_model, settings.llm.backend, max_concurrency_for(settings.llm),
                                               settings.llm.queue_wait_s),
                                 timeout_s=settings.llm.timeout_s) if chat_model else None
        self.words = ReplyTexts.load()  # validated here: a broken data file stops the start with file and line
        # the stages, in turn order
        tokenizer = getattr(retriever, "tokenizer", None)  # the retriever's: its dictionary knows the corpus words
        homophones = HomophoneReader(lambda: _service_words(corpus, retriever), lambda: _names(corpus), tokenizer)
        guides = GuideClassifier(corpus)  # the router's, and the form step's for a matter's 一件事
        self.forms = FormStep(corpus, self.runner, settings.llm.form_timeout_s, guides)
        people = PeopleWords.load()
        self.normalizer = Normalizer(pinyin=PinyinReader(lambda: _vocabulary(corpus), tokenizer),
                                     focus=getattr(retriever, "focus", None), tokenizer=tokenizer,
                                     homophones=homophones, names=self.forms.filler.slot_extractor.name_spans,
                                     companies=self.forms.filler.slot_extractor.company_spans, people=people.person)
        self.intent = IntentStep(classifier, self.runner)
        lookalikes = LookAlikes.load(tokenizer=tokenizer)
        self.guard = GuardStage(Guard.load(tokenizer=tokenizer), self.normalizer, self.intent, lookalikes)
        self.router = Router(corpus, retriever, self.normalizer, guides=guides, people=people)
        self.scope = ScopeCheck(corpus, self.router, asks=lambda text: self.evidence.cues(text),
                                staff_words=ContextWords.load().staff_words, grieves=lookalikes.grieves)
        self.responders = responder_table(self.words, status_lookup)
        self.no_match = NoMatchResponder(self.words)
        self.situations = SituationResolver()
        self.composer = AnswerComposer(corpus)
        # the retriever's tokenizer (or jieba's own without one) and, when on, its embedder behind the vector cache
        vectors = getattr(retriever, "text_embeddings", None) if settings.index.sentence_vectors else None
        self.evidence = EvidenceFinder(self.normalizer.tokenizer, embed=vectors)
        self.context = FormContext(self.router, self.evidence)
        self.followup = FollowupHolder(corpus, self.router, self.evidence)
        cold_budget = settings.llm.cold_prompt_tokens if settings.llm.backend == "local" else 0
        self.phraser = LLMPhraser(self.runner, cold_prompt_tokens=cold_budget or None,
                                  cold_prompt_s=settings.llm.cold_prompt_s) if self.runner else None
        self.verifier = Verifier(secret=SYSTEM_PROMPT)
        self.formatter = ChannelFormatter()
        self._session_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._shared_locks = session_locks  # the API's, shared by its workers; else this process's own
        self.drafts = FormDrafts(self.sessions, self._lock_for)  # form edits: same store, same session lock
        install_log_masking()
        # The pinyin vocabularies and the guides' words take seconds to build: do it off the first user's turn.
        threading.Thread(target=self._warm_vocabularies, name="daoban-vocabularies", daemon=True).start()
        self.llm_warm = threading.Event()  # set when the start-up prompt warming is over (or not needed)
        self._closing = threading.Event()
        self.warmed = 0  # prompts the last warming made ready
        if self.phraser is not None and settings.llm.backend == "local":
            threading.Thread(target=self._warm_llm, name="daoban-llm-warm", daemon=True).start()
        else:
            self.llm_warm.set()

    def _warm_vocabularies(self) -> None:
        self.normalizer.pinyin.warm()
        self.normalizer.homophones.warm()
        self.router.warm()

    def _warm_llm(self) -> None:
        """Evaluate the system prompt, then the facts of up to ``llm.prewarm`` guides (scenarios, FAQs, then
        matter guides) as a question about the guide as a whole would phrase them, so questions resume from
        llama.cpp's prompt cache: reading a prompt dominates the first token on a CPU.

        States are kept on disk, so a restart reads them back in seconds; only new or edited guides are evaluated
        (about 1.7 s each on 2 cores). Warming runs while users are served and gives way to their turns."""
        started = time.time()
        try:
            names = [self.phraser.warm(stop=self._closing, reuse=False)]  # also pages the model in
            docs = [*self.corpus.scenarios.values(), *self.corpus.faqs.values(), *self.corpus.matters.values()]
            docs = docs[: self.settings.llm.prewarm]
            for doc in docs:
                if self._closing.is_set():
                    return
                names.append(self.phraser.warm(self.composer.run(doc, {}, []).llm_facts(), stop=self._closing))
            self.warmed = sum(n is not None for n in names)
            cache = self.runner.prompt_cache
            removed = 0
            if cache is not None and None not in names:  # a complete pass: states of edited guides can go
                removed = cache.prune(names, older_than=started)
            log.info("prompt warming: %d of %d prompts ready in %.0f s (%d kept from an earlier start, %d outdated "
                     "removed)", self.warmed, len(names), time.time() - started,
                     cache.disk_indexed if cache is not None else 0, removed)
        except Exception:  # noqa: BLE001 - warming is an optimisation only
            log.exception("LLM prompt warming failed")
        finally:
            self.llm_warm.set()

    def close(self) -> None:
        """Stop background work (prompt warming): this assistant is being replaced."""
        self._closing.set()

    @classmethod
    def from_settings(cls, settings: "Settings", session_store: SessionStore | None = None,
                      status_lookup: "StatusLookup | None" = None, retriever=None,
                      corpus: "Corpus | None" = None,
                      session_locks: Callable[[str], AbstractContextManager] | None = None) -> "Assistant":
        corpus = corpus if corpus is not None else load_corpus(settings.corpus_dir)  # the API passes its one corpus
        if retriever is None:
            retriever = HybridRetriever.from_settings(settings)
        classifier = IntentClassifier.from_corpus(corpus)
        chat_model = None
        if settings.llm.backend != "none":
            try:
                chat_model = get_chat_model(settings)
            except Exception as exc:  # noqa: BLE001 - the assistant still works without the LLM
                log.error("LLM backend %r unavailable, answering without it: %s", settings.llm.backend, exc)
        return cls(settings, corpus, retriever, classifier, session_store, status_lookup, chat_model, session_locks)

    @property
    def ready(self) -> bool:
        index_ready = getattr(self.retriever, "ready", True)
        if callable(index_ready):
            index_ready = index_ready()
        return bool(index_ready) and (self.settings.llm.backend == "none" or self.runner is not None)

    # -- public API ---------------------------------------------------------------------------------
    def handle(self, message: str, session_id: str | None = None, channel: ChannelName = "web",
               region: str | None = None) -> Reply:
        reply = None
        for event in self.stream(message, session_id, channel, region):
            if event["type"] == "reply":
                reply = event["reply"]
        assert reply is not None
        return reply

    def stream(self, message: str, session_id: str | None = None, channel: ChannelName = "web",
               region: str | None = None) -> Iterator[dict]:
        """Yield ``{"type": "draft", "reply"}`` (the composed answer, when an LLM lead follows), then
        ``{"type": "token", "text"}`` while the LLM phrases the lead, then ``{"type": "reply", "reply"}``.

        The draft and the tokens are previews: the final reply's ``answer`` is what counts (the lead and the
        composed answer, or the composed answer alone when the verifier rejected the LLM text)."""
        started = time.perf_counter()
        session_id = session_id or uuid.uuid4().hex
        lock = self._lock_for(session_id)
        with lock:
            try:
                session = self._load(session_id, region)
                reply = None
                for event in self._turn(message if isinstance(message, str) else str(message or ""),
                                        session, channel if channel in ("web", "app", "hotline") else "web", region):
                    if event["type"] == "reply":
                        reply = event["reply"]
                    else:
                        yield event
                assert reply is not None
                self._save(session, message, reply)
            except Exception:  # noqa: BLE001 - never fail the user's turn
                log.exception("turn failed (session %s)", session_id)
                self.stats["errors"] += 1
                reply = Reply(session_id=session_id, intent=Intent(name="consult", confidence=0.0),
                              answer=self.words.texts.error, suggestions=[self.words.chips.human])
            reply.latency_ms = int((time.perf_counter() - started) * 1000)
            self.stats["turns"] += 1
            yield {"type": "reply", "reply": reply}

    # -- the turn -----------------------------------------------------------------------------------
    def _turn(self, text: str, session: SessionState, channel: ChannelName, region: str | None) -> Iterator[dict]:
        t = self._context(session, channel, region)
        msg = self.normalizer.run(text)
        if not msg.text:
            yield self._respond(t, Understood(msg, IntentResult("chitchat", 1.0, {})))
            return
        seen = Understood(msg, self.intent.run(msg, session, t.stats))
        seen = self.guard.run(seen, session, t.stats, t.region_doc.hotline if t.region_doc else "12345")
        if seen.refusal is None:
            seen = self.scope.run(seen, session, t.region)
        if seen.refusal is None and self.context.continues(seen, session):
            seen = replace(seen, intent=IntentResult("apply", max(seen.intent.confidence, 0.6), seen.intent.probs,
                                                     "rule"))
        if seen.refusal is not None or seen.intent.name in self.responders:
            yield self._respond(t, seen)
            return
        if self.context.drops(seen, session):
            yield self._dropped(t, seen)
            return
        decision = self.router.run(seen.msg, session, t.region, hits=seen.hits)
        decision = self.followup.run(seen.msg, session, decision, seen.intent.name, t.region)
        if self._holds(seen, session, decision):
            yield self._held(t, seen, decision)
            return
        steered = self.context.steer(seen, session, decision)
        decision = steered.decision
        doc, route, texts = None, decision.route, []
        if route is not None:
            texts = [self.normalizer.run(x) for x in _served_user_texts(session.turns)] + [seen.msg]
            doc, route = self.forms.target(self.corpus.get(route.id), route, decision, seen.intent.name,
                                           seen.msg.search_text, texts)
        if doc is None:  # a which-service question, nothing found, or the index ahead of the corpus
            yield self._unrouted(t, seen, decision)
            return
        set_aside = self._enter(t, route, decision, steered.turn)
        situations = self.situations.step(doc, session, texts, seen.msg.aspects, seen.intent.name)
        before = session.form
        form = self.forms.run(doc, session, texts, seen.msg, seen.intent.name, t.stats, situations.matter)
        if form is not None:
            session.applying = False
        collected = self.forms.collected(doc, session, texts) \
            if doc.kind == "catalog" and seen.intent.name == "apply" else None
        composed = self.composer.run(doc, session.answers, seen.msg.aspects, _faq_sections(decision, route.id),
                                     situations.matter)
        if seen.intent.name == "consult":
            self._evidence(doc, seen, composed, decision)
        notes = self._form_notes(t, seen, steered.turn, form, set_aside)
        changed = corrections(before, form) if form is not None else []
        head = self.words.texts.corrected.format(changes="；".join(changed)) if changed else None
        draft = self._draft(t, seen, doc, route, composed, situations.question, form, collected, notes, head)
        if self.phraser is None or seen.intent.name != "consult" or doc.kind == "catalog":
            yield {"type": "reply", "reply": draft.reply(draft.answer, None)}
            return
        yield from self._phrase(t, seen, composed, draft)

    def _context(self, session: SessionState, channel: ChannelName, region: str | None) -> TurnContext:
        # One region for the whole turn: the request's, else the session's, else the deployment default
        # (routing must never silently search every region's catalogue).
        region = region or session.region or self.settings.default_region or None
        return TurnContext(session, channel, region, self.corpus.region_of(region) if region else None, self.stats)

    def _respond(self, t: TurnContext, seen: Understood) -> dict:
        """A reply that needs no guide: a refusal, or the responder of the intent."""
        simple = Simple(seen.refusal) if seen.refusal is not None else \
            self.responders[seen.intent.name].run(Ask(seen.msg, t.region_doc, seen.meta, t.session.session_id))
        if seen.intent.name in _CLEARS_PENDING:
            t.session.pending = None
        return self._simple(t, seen.intent, simple)

    def _unrouted(self, t: TurnContext, seen: Understood, decision: RouteDecision) -> dict:
        """Ask which service is meant, or say nothing was found (handing off after repeated failures)."""
        session = t.session
        if decision.clarify is not None:
            decision.clarify.intent = seen.intent.name
            session.pending = decision.clarify
            session.failures = 0
            return {"type": "reply", "reply": Reply(
                session_id=session.session_id, intent=_intent(seen.intent),
                answer=decision.clarify.question + "\n" + _numbered(decision.clarify),
                clarify=Clarify(kind="route", question=decision.clarify.question, options=decision.clarify.options),
                suggestions=[self.words.chips.human])}  # the options are the clarify buttons; chips would repeat them
        hint = department_hint(seen.msg.text, decision.hits, self.corpus, self.corpus.departments.get(t.region)) \
            if decision.no_match else None
        if hint is None and decision.no_match and seen.intent.name == "consult" \
                and not self.router.service_words(seen.msg):
            # Nothing found, no department's kind of need, and not one word a service is named by (快递, 装修,
            # 红烧肉): a look-alike of a question about a service, answered as out of scope.
            return self._respond(t, replace(seen, intent=IntentResult("out_of_scope", seen.intent.confidence,
                                                                      seen.intent.probs, "rule")))
        session.failures += 1
        session.pending = None
        handoff = session.failures >= FAILURES_BEFORE_HANDOFF
        return self._simple(t, seen.intent, self.no_match.run(Ask(seen.msg, t.region_doc), handoff=handoff,
                                                              hint=hint))

    def _enter(self, t: TurnContext, route: Route, decision: RouteDecision, turn: FormTurn) -> FormState | None:
        """The session moves to ``route``; a form of another guide is closed, unless the user only asks about
        another topic (the form is kept and they are asked). Returns a form with the user's values that closed."""
        session = t.session
        closed = None
        if (decision.switched or (session.route and session.route.id != route.id)) \
                and session.form and session.form.guide_id != route.id and turn != FormTurn.SWITCH:
            closed = session.form if turn == FormTurn.REPLACE else None
            session.form = None
        session.route = route
        session.region = route.region
        session.failures = 0
        t.region_doc = self.corpus.region_of(route.region) or t.region_doc
        return closed

    # -- the application in progress ----------------------------------------------------------------
    def _holds(self, seen: Understood, session: SessionState, decision: RouteDecision) -> bool:
        """Personal data with no service known yet (or while a which-service question waits): kept for the
        service the user names next, instead of a no-match reply or a route the words around the numbers found."""
        if not seen.msg.has_personal_data or session.form is not None or seen.intent.name != "apply":
            return False
        pending = session.pending if session.pending is not None and session.pending.kind == "route" else None
        if pending is not None:
            # the answer to our question is a pick, a service named, one of the offered services described, or
            # a need retrieval is sure of; not the words around the data (身份证, 电话)
            route = decision.route
            return not (decision.reason in (RouteReason.PICKED_OPTION, RouteReason.NAMED) or route is not None and (
                route.id in {r.id for r in pending.routes} or route.score >= HELD_ROUTE_SCORE))
        return session.route is None and decision.route is None

    def _held(self, t: TurnContext, seen: Understood, decision: RouteDecision) -> dict:
        """What the user gave, masked, and the question that names the service: the pending which-service question
        again, else what they want to do."""
        session = t.session
        texts = [self.normalizer.run(x) for x in _served_user_texts(session.turns)] + [seen.msg]
        held = self.forms.held(session, texts)
        if decision.clarify is not None and session.pending is None:  # "which one?" asked with the data
            decision.clarify.intent = "apply"
            session.pending = decision.clarify
        words = self.words.texts
        answer = words.held.format(items="、".join(held)) if held else words.held_nothing
        session.applying = True
        session.failures = 0
        pending = session.pending if session.pending is not None and session.pending.kind == "route" else None
        clarify = None
        if pending is not None:
            pending.intent = "apply"
            answer += "\n" + pending.question + "\n" + _numbered(pending)
            clarify = Clarify(kind="route", question=pending.question, options=pending.options)
        else:
            answer += words.held_ask.format(example=self.words.example_question)
        apply = IntentResult("apply", max(seen.intent.confidence, 0.6), seen.intent.probs, "rule")
        return {"type": "reply", "reply": Reply(session_id=session.session_id, intent=_intent(apply), answer=answer,
                                                clarify=clarify, suggestions=[self.words.chips.human])}

    def _dropped(self, t: TurnContext, seen: Understood) -> dict:
        """The user lets the form go: said so, and nothing of it is kept."""
        session = t.session
        title = self._form_title(session.form)
        session.form = None
        session.applying = False
        return self._simple(t, seen.intent, Simple(self.words.texts.form_dropped.format(title=title),
                                                   suggestions=[self.words.example_question]))

    def _form_title(self, form: FormState | None) -> str:
        doc = self.corpus.get(form.guide_id) if form is not None else None
        return doc.title if doc is not None else ""

    def _form_notes(self, t: TurnContext, seen: Understood, turn: FormTurn, form: FormState | None,
                    set_aside: FormState | None) -> list[str]:
        """What the user reads about the application in progress, after the answer."""
        words, session = self.words.texts, t.session
        notes = []
        if set_aside is not None:
            notes.append(words.form_replaced.format(title=self._form_title(set_aside)))
        if form is not None:
            return notes
        kept = session.form
        if kept is not None and turn in (FormTurn.ON, FormTurn.ASIDE) and seen.intent.name == "consult":
            notes.append(words.form_kept.format(title=self._form_title(kept), missing=missing_prompt(kept)))
        elif kept is not None and turn == FormTurn.SWITCH:
            notes.append(words.form_parked.format(title=self._form_title(kept)))
        return notes

    def _evidence(self, doc, seen: Understood, composed: Composed, decision: RouteDecision) -> None:
        """A detail question (多少天, 几级, 在哪…) answered by one sentence of the guide: that sentence first;
        a standalone FAQ the router found the guide through goes before it. A follow-up routed to the guide that
        holds what it asks leads with the sentence that held it (ranked with what was said before)."""
        faq_id = decision.faq
        found = self.evidence.run(doc, seen.msg, self._bundle(doc))
        picked = found.picked
        if decision.held is not None:
            picked = [decision.held, *[s for s in picked if s.text != decision.held.text]][:MAX_LINES]
        for sentence in reversed(picked):  # each goes first: the best ends up on top
            composed.lead_with(sentence.line, sentence.section, sentence.text, sentence.guide)
        if faq_id is not None and faq_id in self.corpus.faqs:
            composed.answer_first(self.corpus.faqs[faq_id])

    def _bundle(self, doc) -> list:
        """The guides bundled with ``doc``: a 一件事's member matters, or the 一件事s a matter belongs to."""
        if doc.kind == "scenario":
            return [m for m in (self.corpus.matters.get(x.matter) for x in doc.members) if m is not None]
        return [self.corpus.scenarios[s] for s, members in self.router.members.items() if doc.id in members]

    def _draft(self, t: TurnContext, seen: Understood, doc, route: Route, composed: Composed,
               question: PendingClarify | None, form: FormState | None, collected: list[str] | None = None,
               notes: list[str] | None = None, head: str | None = None) -> Draft:
        """The composed answer, with the form, the 情形 question and notes; and the reply around it."""
        apply = seen.intent.name == "apply"
        answer = self.forms.text(form, composed) if form is not None and apply else composed.text
        if head:  # what a correction changed, before the form
            answer = head + "\n" + answer
        if collected is not None:  # a catalogue matter: applied for on its official page, not here
            answer = self._elsewhere(doc, collected) + "\n\n" + answer
        if question is not None:
            answer += "\n\n" + question.question + "\n" + _numbered(question)
        for note in [*composed.notes, *(notes or [])]:
            answer += "\n\n" + note
        suggestions = [q for a, q in self.words.aspect_chips.items() if a not in seen.msg.aspects][:3]
        if doc.kind in ("scenario", "matter") and form is None:
            suggestions.append(self.words.chips.apply)
        clarify = Clarify(kind="situation", question=question.question, options=question.options) \
            if question is not None and question.options else None
        kept = t.session.form if t.session.form is not None and t.session.form.guide_id == route.id else None
        shown_form = form or (t.session.form if apply else kept)  # an aside shows the form it leaves open

        def reply(text: str, lead: LeadOutcome | None) -> Reply:
            return Reply(session_id=t.session.session_id, intent=_intent(seen.intent), route=route,
                         answer=self.formatter.run(t.channel, text, composed), citations=composed.citations,
                         clarify=clarify, form=shown_form, suggestions=suggestions[:5], lead=lead)
        return Draft(answer, reply)

    def _elsewhere(self, doc, collected: list[str]) -> str:
        """Why a catalogue matter is not applied for here, where it is, and what the user already said for it."""
        texts = self.words.texts
        region = self.corpus.region_of(doc.region)
        link = doc.link or next((o.url or o.name for o in (region.online if region else [])), "") or texts.no_link
        lines = [texts.apply_elsewhere.format(title=doc.title, department=doc.department, link=link)]
        if collected:
            lines.append(texts.apply_elsewhere_collected + "\n" + "\n".join(f"- {c}" for c in collected))
        return "\n".join(lines)

    def _phrase(self, t: TurnContext, seen: Understood, composed: Composed, draft: Draft) -> Iterator[dict]:
        """LLM phrasing: a short lead from the cited sections only, verified. The composed answer is complete and
        the lead takes seconds on a CPU: the user reads the draft meanwhile."""
        yield {"type": "draft", "reply": draft.reply(draft.answer, None)}
        answer, pieces, meta = draft.answer, [], {}
        try:
            for tok in self.phraser.stream(composed.llm_facts(), seen.msg.raw, meta):
                pieces.append(tok)
                yield {"type": "token", "text": tok}
        except LLMUnavailable as exc:
            t.stats["llm_fallbacks"] += 1
            log.warning("LLM phrasing fallback: %s", exc)
            yield {"type": "reply", "reply": draft.reply(answer, "unavailable")}
            return
        lead = self.phraser.finish(pieces, ended=meta.get("finish_reason") == "stop")
        verdict = self.verifier.run(lead, list(composed.sources.values()) + [composed.spoken])
        if verdict.ok and lead:
            t.stats["llm_answers"] += 1
            yield {"type": "reply", "reply": draft.reply(lead + "\n\n" + answer, "accepted")}
            return
        t.stats["verifier_fallbacks"] += 1
        log.info("verifier rejected LLM text (unsupported: %s)", verdict.unsupported[:5])
        yield {"type": "reply", "reply": draft.reply(answer, "rejected")}

    # -- helpers ------------------------------------------------------------------------------------
    def _simple(self, t: TurnContext, intent: IntentResult, s: Simple) -> dict:
        return {"type": "reply", "reply": Reply(session_id=t.session.session_id, intent=_intent(intent),
                                                answer=s.answer, handoff=s.handoff, suggestions=s.suggestions)}

    def _lock_for(self, session_id: str) -> AbstractContextManager:
        if self._shared_locks is not None:
            return self._shared_locks(session_id)
        with self._locks_lock:
            if len(self._session_locks) > 10_000:
                self._session_locks.clear()
            return self._session_locks.setdefault(session_id, threading.Lock())

    def _load(self, session_id: str, region: str | None) -> SessionState:
        state = None
        try:
            state = self.sessions.load(session_id)
        except Exception:  # noqa: BLE001 - a broken store means a fresh session, not a failed turn
            log.exception("session load failed")
        if state is None:
            state = SessionState(session_id=session_id, region=region)
        elif region:
            state.region = region
        return state

    def _save(self, session: SessionState, message: str, reply: Reply) -> None:
        summary = f"{reply.intent.name}" + (f" -> {reply.route.kind}:{reply.route.id}" if reply.route else "")
        session.turns.append(Turn(role="user", text=str(message)[:MAX_MESSAGE_CHARS]))
        session.turns.append(Turn(role="assistant", text=reply.answer[:500], summary=summary))
        # Bounded state, so a turn's cost does not grow with the session: the oldest turns go (in pairs, so
        # every reply stays after its message). A form draft, 情形 answers and the route are kept apart from turns.
        session.turns = session.turns[-2 * self.settings.api.max_history_turns:]
        try:
            self.sessions.save(session)
        except Exception:  # noqa: BLE001
            log.exception("session save failed")


def _intent(res: IntentResult) -> Intent:
    return Intent(name=res.name, confidence=max(0.0, min(1.0, float(res.confidence))))


def _numbered(question: PendingClarify) -> str:
    return "\n".join(f"{i}. {o.title}" for i, o in enumerate(question.options, 1))


def _faq_sections(decision: RouteDecision, doc_id: str) -> list[str]:
    """The FAQ section retrieval matched on the routed document, if any."""
    hit = next((h for h in decision.hits if h.doc_id == doc_id), None)
    return [s.section for s in (hit.sections if hit else []) if s.section.startswith("faq:")][:1]


def _served_user_texts(turns: list[Turn]) -> list[str]:
    """What the user said, minus messages answered as out of scope: a refused request (with someone else's
    ID number) must not fill a form later in the session."""
    return [t.text for i, t in enumerate(turns) if t.role == "user" and not (
        i + 1 < len(turns) and (turns[i + 1].summary or "").startswith("out_of_scope"))]


def _names(corpus: "Corpus"):
    """Titles and aliases: what a user may name."""
    for doc in corpus.documents():
        yield doc.title
        yield from getattr(doc, "aliases", []) or []


def _service_words(corpus: "Corpus", retriever):
    """Words whose homophones are read as them: titles, aliases, the words the index taught its tokenizer (titles,
    materials, departments) and those it weighs as service words."""
    yield from _names(corpus)
    tokenizer = getattr(retriever, "tokenizer", None)
    if tokenizer is not None:
        yield from tokenizer.user_words()
    yield from getattr(retriever, "service_words", lambda: [])()


def _vocabulary(corpus: "Corpus"):
    """Texts whose words the pinyin reader knows: corpus titles, aliases, sample questions, intent examples."""
    for doc in corpus.documents():
        yield doc.title
        if doc.kind == "catalog":
            continue
        yield from getattr(doc, "aliases", []) or []
        yield from getattr(doc, "sample_questions", []) or []
    yield from load_examples(None)[0]
