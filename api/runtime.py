"""What one API process holds: settings, database, vault, corpus, retriever and assistant.

The retriever and the assistant load in a background thread so that ``/healthz`` answers at once
and ``/readyz`` tells when the index and model are in."""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from agent.forms.drafts import FormDrafts
from agent.forms.identity import SessionIdentities
from agent.forms.licences import load_provider
from api import metrics
from api.crypto import Vault, load_key
from api.db import as_utc, database_url, make_engine, make_sessionmaker, sqlite_path, utcnow
from api.locks import SharedSessionLocks
from api.quality_store import SQLTicketStatus
from api.stores import SQLSessionStore, SQLStatusLookup
from corpus.loader import Corpus, load_corpus
from corpus.validate import validate_corpus
from daoban.settings import Settings
from daoban.threads import limit_inference_threads
from index.build import build_index
from index.retriever import HybridRetriever

log = logging.getLogger("daoban.api")


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        limit_inference_threads(settings.api.worker_threads)  # before any model loads: this process's pools
        self.engine = make_engine(settings)
        self.sqlite_file = sqlite_path(settings) if database_url(settings).startswith("sqlite") else None
        self.db = make_sessionmaker(self.engine)
        self.vault = Vault(load_key(settings))
        self.session_store = SQLSessionStore(self.db, self.vault)
        # Workers share the database, so a session's locks are shared too (api.locks). Two families: the API's
        # (forms, recording a turn) and the assistant's turn (a chat turn and a draft edit); the forms router
        # holds the first around an edit that takes the second, and the locks are not reentrant.
        self.session_locks = SharedSessionLocks(1, self.engine, Path(settings.data_dir))
        self.turn_locks = SharedSessionLocks(2, self.engine, Path(settings.data_dir))
        from api.deps import RateLimiter  # api.deps reads this module's Runtime

        # Tickets' status by number + contact: tries per number limited (api.ticket_lookup_per_minute), in the
        # storage the workers share.
        self.ticket_lookups = RateLimiter(settings.api.ticket_lookup_per_minute, settings.api.rate_limit_storage,
                                          "ticket-lookup")
        self.status_lookup = SQLStatusLookup(self.db, SQLTicketStatus(self, self.ticket_lookups))
        # Form drafts live in the session state; the assistant's FormDrafts serves once it is loaded.
        self._drafts = FormDrafts(self.session_store, self.turn_locks)
        # 免填写 / 免提交: the city's login and licence platform (licences.provider); None when not configured.
        self.licences = load_provider(settings)
        self.identities = SessionIdentities(self.session_store, self.turn_locks, self.licences,
                                            settings.licences.nonce_ttl_s) if self.licences is not None else None
        self.retriever = None
        self.assistant = None
        self.load_error: str | None = None
        self._loaded = threading.Event()
        # The process's one corpus: the routers read it and the assistant answers from the same object.
        self._corpus: Corpus | None = None
        self._validation: dict | None = None  # corpus health for the admin console, until the next edit
        self._corpus_lock = threading.Lock()
        self.index_lock = threading.Lock()  # one reindex at a time
        self.started_at = time.time()

    def close(self) -> None:
        self.session_locks.dispose()
        self.turn_locks.dispose()
        self.engine.dispose()

    # -- corpus -------------------------------------------------------------
    @property
    def corpus_root(self) -> Path:
        return Path(self.settings.corpus_dir)

    def corpus(self) -> Corpus:
        with self._corpus_lock:
            if self._corpus is None:
                self._corpus = load_corpus(self.corpus_root)
            return self._corpus

    def corpus_changed(self) -> None:
        """After a corpus edit: the next read loads the files again, the validation is redone, and a new
        assistant answers from the new corpus."""
        with self._corpus_lock:
            self._corpus = None
            self._validation = None
        self.refresh_assistant()

    def validation(self) -> dict:
        """The corpus check as the admin console shows it, computed once per corpus version."""
        with self._corpus_lock:
            if self._validation is not None:
                return self._validation
        problems = validate_corpus(self.corpus_root)
        errors = [p for p in problems if p.severity == "error"]
        result = {"ok": not errors, "errors": len(errors), "warnings": len(problems) - len(errors),
                  "problems": [str(p) for p in errors[:30]] + [str(p) for p in problems if p.severity != "error"][:20],
                  "checked_at": as_utc(utcnow())}
        with self._corpus_lock:
            self._validation = result
        return result

    def drafts(self) -> FormDrafts:
        """The assistant's drafts (an edit and a chat turn of a session take the same lock); the same store
        through this process's session locks while no assistant is loaded (no chat turn runs then)."""
        assistant = self.assistant
        return assistant.drafts if assistant is not None else self._drafts

    # -- retriever and assistant -------------------------------------------
    def start_loading(self) -> None:
        threading.Thread(target=self._load, name="daoban-load", daemon=True).start()

    def _new_assistant(self):
        # lazy: the agent (intent model, LLM backend) loads in the background thread, after the API is up
        from agent.pipeline import Assistant

        return Assistant.from_settings(self.settings, session_store=self.session_store,
                                       status_lookup=self.status_lookup, retriever=self.retriever,
                                       corpus=self.corpus(), session_locks=self.turn_locks)

    def _load(self) -> None:
        t0 = time.perf_counter()
        try:
            self.retriever = HybridRetriever.from_settings(self.settings)
            self.assistant = self._new_assistant()
            log.info("assistant loaded in %.1f s", time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - reported by /readyz, the service keeps serving the rest
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("loading the assistant failed")
        finally:
            metrics.set_readiness(self.index_ready, self.ready)
            self._loaded.set()

    def refresh_assistant(self) -> None:
        """After a corpus edit: build a new assistant (its corpus and intent examples) in the background
        and swap it in; the current one keeps answering meanwhile."""
        def run() -> None:
            try:
                old = self.assistant
                self.assistant = self._new_assistant()
                if old is not None:
                    old.close()  # its prompt warming would only compete with the new one's
            except Exception:  # noqa: BLE001 - keep the old assistant
                log.exception("refreshing the assistant after a corpus edit failed")

        if self.assistant is not None:
            threading.Thread(target=run, name="daoban-refresh", daemon=True).start()

    def wait_loaded(self, timeout: float) -> bool:
        return self._loaded.wait(timeout)

    @property
    def ready(self) -> bool:
        if self.assistant is None or not self.index_ready:
            return False
        return bool(getattr(self.assistant, "ready", True))

    @property
    def index_ready(self) -> bool:
        return self.retriever is not None and bool(getattr(self.retriever, "ready", True))

    def reindex(self, progress=None) -> dict:
        """Incremental rebuild of the index from the corpus; the retriever picks it up and the assistant
        is rebuilt on the corpus the index was built from."""
        with self.index_lock:
            t0 = time.perf_counter()
            result = build_index(self.settings, progress=progress)
            if self.retriever is not None:
                self.retriever.reload()
            self.corpus_changed()
            return {"seconds": round(time.perf_counter() - t0, 2), **result.model_dump()}
