"""Chat models behind LangChain's interface, chosen by ``settings.llm.backend``,
and a runner that gives every call a time budget.

``local``: llama.cpp over the GGUF that ``daoban model ensure`` assembled.
``openai``: any OpenAI-compatible endpoint. ``none``: no model (returns None).
A call that times out or fails raises ``LLMUnavailable``; the pipeline then
answers that turn without the LLM."""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from daoban.settings import Settings

log = logging.getLogger("daoban.agent.llm")

_MODELS: dict[tuple, "BaseChatModel"] = {}
_MODELS_LOCK = threading.Lock()


class LLMUnavailable(RuntimeError):
    """The model did not answer in time or failed; the caller falls back."""


def get_chat_model(settings: "Settings") -> "BaseChatModel | None":
    """The configured chat model (cached per process), or None for backend ``none``."""
    cfg = settings.llm
    if cfg.backend == "none":
        return None
    key = (cfg.backend, cfg.model_path, cfg.base_url, cfg.model, str(settings.data_dir))
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        if cfg.backend == "local":
            from langchain_community.chat_models import ChatLlamaCpp

            from daoban.model_files import ensure_model
            path = ensure_model(settings)
            model = ChatLlamaCpp(model_path=str(path), n_threads=cfg.n_threads, n_ctx=cfg.n_ctx,
                                 n_batch=512, temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                                 verbose=False, streaming=True)
        elif cfg.backend == "openai":
            if not cfg.base_url:
                raise ValueError("llm.backend is 'openai' but llm.base_url is not set "
                                 "(set DAOBAN_LLM__BASE_URL, e.g. http://127.0.0.1:8001/v1)")
            from langchain_openai import ChatOpenAI
            model = ChatOpenAI(base_url=cfg.base_url, model=cfg.model or "default", api_key=cfg.api_key or "none",
                               temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                               timeout=cfg.timeout_s, max_retries=0, streaming=True)
        else:  # pragma: no cover - settings validation prevents it
            raise ValueError(f"unknown llm backend {cfg.backend!r}")
        _MODELS[key] = model
        return model


class LLMRunner:
    """Runs one chat model with a per-call time budget, one call at a time.

    llama.cpp is not safe for concurrent calls, so calls are serialised; the
    budget includes the wait for the lock. Counters record calls, timeouts and
    errors for the benchmark and the logs."""

    def __init__(self, model: "BaseChatModel", timeout_s: float, backend: str = ""):
        self.model = model
        self.timeout_s = timeout_s
        self.backend = backend
        self._lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        # Circuit breaker: after `trip_after` timeouts in a row (an overloaded machine or endpoint),
        # skip the LLM for `pause_s` seconds so turns stay at no-LLM latency.
        self.max_wait_s = 1.0
        self.trip_after = 3
        self.pause_s = 60.0
        self._timeouts_in_row = 0
        self._open_until = 0.0

    def stream(self, messages: list, timeout_s: float | None = None, **kwargs) -> Iterator[str]:
        """Yield text chunks; raise LLMUnavailable when the budget runs out or the model fails."""
        budget = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + budget
        self.stats["calls"] += 1
        now = time.monotonic()
        if now < self._open_until:
            self.stats["skipped"] += 1
            raise LLMUnavailable(f"LLM paused for {self._open_until - now:.0f}s after {self.trip_after} timeouts")
        # A turn does not queue behind another: the user gets the composed answer at once instead.
        if not self._lock.acquire(timeout=min(budget, self.max_wait_s)):
            self.stats["busy"] += 1
            raise LLMUnavailable("LLM busy with another turn")
        q: queue.Queue = queue.Queue()
        cancel = threading.Event()

        def work() -> None:
            try:
                for chunk in self.model.stream(messages, **kwargs):
                    if cancel.is_set():
                        break
                    text = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
                    if text:
                        q.put(("tok", text))
                q.put(("end", None))
            except Exception as exc:  # noqa: BLE001 - any backend failure becomes a fallback
                q.put(("err", exc))
            finally:
                self._lock.release()

        threading.Thread(target=work, name="daoban-llm", daemon=True).start()
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    kind, value = q.get(timeout=max(remaining, 0.001))
                except queue.Empty:
                    self.stats["timeouts"] += 1
                    self._timeouts_in_row += 1
                    if self._timeouts_in_row >= self.trip_after:
                        self._open_until = time.monotonic() + self.pause_s
                        self._timeouts_in_row = 0
                    raise LLMUnavailable(f"LLM gave no answer within {budget:.1f}s") from None
                if kind == "tok":
                    self._timeouts_in_row = 0
                    yield value
                elif kind == "end":
                    return
                else:
                    self.stats["errors"] += 1
                    raise LLMUnavailable(f"LLM call failed: {type(value).__name__}: {value}") from value
        finally:
            cancel.set()  # the worker stops at its next chunk (also when the caller stops reading)

    def invoke(self, messages: list, timeout_s: float | None = None, **kwargs) -> str:
        return "".join(self.stream(messages, timeout_s=timeout_s, **kwargs))


class RunnerChat:
    """The runner seen as a streaming chat model (``stream(messages, **kwargs)`` -> text chunks), so other
    components (the form filler) share its lock, budget and counters instead of calling the model beside it."""

    def __init__(self, runner: LLMRunner):
        self.runner = runner

    def stream(self, messages: list, **kwargs) -> Iterator[str]:
        return self.runner.stream(messages, **kwargs)


_RUNNERS: dict[int, LLMRunner] = {}


def shared_runner(model: "BaseChatModel", timeout_s: float, backend: str = "") -> LLMRunner:
    """One runner (one lock) per model object: assistants rebuilt after a corpus edit share the model safely."""
    with _MODELS_LOCK:
        runner = _RUNNERS.get(id(model))
        if runner is None or runner.model is not model:
            runner = _RUNNERS[id(model)] = LLMRunner(model, timeout_s, backend)
        runner.timeout_s = timeout_s
        return runner
