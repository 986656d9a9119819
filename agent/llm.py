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

from agent.prompt_cache import PromptStateCache, store_dir_for
from daoban.model_files import ensure_model

if TYPE_CHECKING:
    from pathlib import Path

    from langchain_core.language_models import BaseChatModel

    from daoban.settings import LLMSettings, Settings

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
    # the runner of a model object holds its slots: settings with other slots get their own (HTTP) client
    key = (cfg.backend, cfg.model_path, cfg.base_url, cfg.model, str(settings.data_dir), max_concurrency_for(cfg),
           cfg.queue_wait_s)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        if cfg.backend == "local":
            # lazy: the local backend's packages (llama.cpp) load only when it is chosen
            from langchain_community.chat_models import ChatLlamaCpp

            path = ensure_model(settings)
            client = prompt_cached_llama(str(path), n_threads=cfg.n_threads, n_ctx=cfg.n_ctx, n_batch=512,
                                         cache_mb=cfg.prompt_cache_mb,
                                         store_dir=store_dir_for(settings.data_dir, str(path), cfg.n_ctx))
            # model_construct: hand LangChain our llama instance instead of letting it load a second one.
            model = ChatLlamaCpp.model_construct(
                client=client, model_path=str(path), n_threads=cfg.n_threads, n_ctx=cfg.n_ctx, n_batch=512,
                temperature=cfg.temperature, max_tokens=cfg.max_tokens, verbose=False, streaming=True)
        elif cfg.backend == "openai":
            if not cfg.base_url:
                raise ValueError("llm.backend is 'openai' but llm.base_url is not set "
                                 "(set DAOBAN_LLM__BASE_URL, e.g. http://127.0.0.1:8001/v1)")
            from langchain_openai import ChatOpenAI  # lazy: only when this backend is chosen
            model = ChatOpenAI(base_url=cfg.base_url, model=cfg.model or "default", api_key=cfg.api_key or "none",
                               temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                               timeout=cfg.timeout_s, max_retries=0, streaming=True)
        else:  # pragma: no cover - settings validation prevents it
            raise ValueError(f"unknown llm backend {cfg.backend!r}")
        _MODELS[key] = model
        return model


def prompt_cached_llama(model_path: str, n_threads: int, n_ctx: int, n_batch: int, cache_mb: int,
                        store_dir: "Path | None" = None):
    """A llama.cpp model that keeps the KV state of recent prompts in RAM (LRU, ``cache_mb``) and of warmed
    guides on disk under ``store_dir`` (see ``agent.prompt_cache``).

    On this class of CPU, reading the prompt dominates the time to the first token (measured about 35-55
    tokens/s on 2 cores). A later prompt that starts the same way (the system prompt always; the same guide's
    facts when another user asks about it) resumes from the stored state and reads only what differs.
    Only the KV state is stored: llama-cpp-python's own ``save_state`` also copies every token's logits
    (0.6 MB a token, 0.4 s a save), which generation never reads back after a load."""
    # lazy: llama.cpp loads only for the local backend
    import ctypes

    import llama_cpp
    import numpy as np
    from llama_cpp import Llama
    from llama_cpp.llama import LlamaState


    class PromptCachedLlama(Llama):
        def save_state(self) -> LlamaState:
            size = llama_cpp.llama_state_get_size(self._ctx.ctx)
            buf = (ctypes.c_uint8 * int(size))()
            n = int(llama_cpp.llama_state_get_data(self._ctx.ctx, buf, size))
            return LlamaState(scores=np.empty((0, 0), dtype=np.single), input_ids=self.input_ids.copy(),
                              n_tokens=self.n_tokens, llama_state=ctypes.string_at(buf, n),
                              llama_state_size=n, seed=self._seed)

        restored_tokens = 0  # prompt tokens the last cache hit saved from being read again (for tests and logs)

        def load_state(self, state: LlamaState) -> None:
            # Sampling needs fresh logits: _requires_eval makes generate() re-read at least the last token.
            self.restored_tokens = state.n_tokens
            self.input_ids = state.input_ids.copy()
            self.n_tokens = state.n_tokens
            self._requires_eval = True
            self._seed = state.seed
            buf = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
            if llama_cpp.llama_state_set_data(self._ctx.ctx, buf, state.llama_state_size) != state.llama_state_size:
                # Read the whole prompt instead (n_tokens 0 clears the KV memory), and never offer that state again.
                log.warning("llama.cpp refused a cached prompt state; dropping it")
                self.restored_tokens = self.n_tokens = 0
                if isinstance(self.cache, PromptStateCache):
                    self.cache.forget(state)

    # flash_attn: about 10% faster prompt reading and 15% faster writing here (measured).
    llm = PromptCachedLlama(model_path=model_path, n_threads=n_threads, n_ctx=n_ctx, n_batch=n_batch,
                            flash_attn=True, verbose=False)
    # A call past its budget must free the CPU at once, not after reading the rest of a long prompt: llama.cpp
    # polls this between graph nodes and stops the decode when it is set (the runner sets it on timeout).
    abort = threading.Event()
    llm.abort_event = abort
    llm._abort_callback = llama_cpp.ggml_abort_callback(lambda _data: abort.is_set())  # referenced: ctypes
    llama_cpp.llama_set_abort_callback(llm._ctx.ctx, llm._abort_callback, None)
    if cache_mb > 0:
        llm.set_cache(PromptStateCache(capacity_bytes=cache_mb << 20, store_dir=store_dir))
    return llm


# An OpenAI-compatible server (vLLM, Ollama, DashScope) batches concurrent requests; llama.cpp in-process cannot.
DEFAULT_CONCURRENCY = {"local": 1, "openai": 4}


def max_concurrency_for(cfg: "LLMSettings") -> int:
    """Calls the backend may have in flight at once: ``llm.max_concurrency``, else the backend's own."""
    if cfg.backend == "local":
        if cfg.max_concurrency not in (None, 1):
            raise ValueError("llm.max_concurrency must be 1 for the local backend: llama.cpp in-process serves one "
                             "call at a time (serve the model over HTTP and use llm.backend=openai for more)")
        return 1
    return cfg.max_concurrency or DEFAULT_CONCURRENCY.get(cfg.backend, 1)



class LLMRunner:
    """Runs one chat model with a per-call time budget, at most ``max_concurrency`` calls at a time.

    llama.cpp in-process is not safe for concurrent calls, so the local backend has one slot; an HTTP endpoint
    may have several. The budget includes the wait for a slot. Counters record calls, timeouts and errors for the
    benchmark and the logs."""

    def __init__(self, model: "BaseChatModel", timeout_s: float | None, backend: str = "",
                 max_concurrency: int = 1, queue_wait_s: float = 1.0):
        """``timeout_s``: the budget of a call that brings none; None for a shared runner, whose every call
        must bring one. ``queue_wait_s``: how long a user's call waits for a free slot before it gives up."""
        if max_concurrency < 1 or (backend == "local" and max_concurrency != 1):
            raise ValueError(f"max_concurrency {max_concurrency} for backend {backend!r}: the local backend has 1")
        self.model = model
        self.timeout_s = timeout_s
        self.backend = backend
        self.max_concurrency = max_concurrency
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._in_flight = 0  # calls holding a slot (their worker may outlive an abandoned stream)
        self._stats_lock = threading.Lock()  # concurrent calls update the counters and the breaker
        self.stats: Counter[str] = Counter()
        self.queue_wait_s = queue_wait_s
        # Circuit breaker: after `trip_after` timeouts in a row (an overloaded machine or endpoint),
        # skip the LLM for `pause_s` seconds so turns stay at no-LLM latency.
        self.trip_after = 3
        self.pause_s = 60.0
        self._timeouts_in_row = 0
        self._open_until = 0.0
        self._background_holds = False  # a background call (prompt warming) has the model: a turn may stop it
        # The call that holds the model. Stopping llama.cpp (its abort event) is only ever done for the holder,
        # under this lock: a call that ends late must not stop the next call, which may already be running.
        self._holder: object | None = None
        self._holder_lock = threading.Lock()
        self.read_tok_s: float | None = None  # local: measured prompt-reading speed (moving average), tokens/s
        self._turns_running = 0  # users' calls in progress (warming waits until none has run for a while)
        self._turns_lock = threading.Lock()
        self._last_turn_end = 0.0

    def _reading_counters(self) -> tuple[int, float] | None:
        """llama.cpp's running count of prompt tokens read and the milliseconds spent on them (local only)."""
        ctx = getattr(getattr(getattr(self.model, "client", None), "_ctx", None), "ctx", None)
        if ctx is None:
            return None
        import llama_cpp  # lazy: only the local backend has these counters
        data = llama_cpp.llama_perf_context(ctx)
        return int(data.n_p_eval), float(data.t_p_eval_ms)

    def _note_reading(self, before: tuple[int, float] | None) -> None:
        after = self._reading_counters()
        if before is None or after is None:
            return
        tokens, ms = after[0] - before[0], after[1] - before[1]
        if tokens >= 32 and ms > 0:  # a real prompt, not the one token a cache hit re-reads
            speed = tokens / (ms / 1000)
            self.read_tok_s = speed if self.read_tok_s is None else 0.7 * self.read_tok_s + 0.3 * speed

    @property
    def prompt_cache(self):
        """The local model's prompt-state cache (None for other backends, or with the cache off)."""
        cache = getattr(getattr(self.model, "client", None), "cache", None)
        return cache if isinstance(cache, PromptStateCache) else None

    def count_tokens(self, text: str) -> int | None:
        """Tokens of ``text`` for the local model; None when the backend does not say."""
        client = getattr(self.model, "client", None)
        if not hasattr(client, "tokenize"):
            return None
        return len(client.tokenize(text.encode(), add_bos=False, special=False))

    def wait_idle(self, quiet_s: float = 2.0, stop: threading.Event | None = None) -> None:
        """Block until no turn has used the model for ``quiet_s`` (background work yields to users)."""
        while not (stop is not None and stop.is_set()):
            idle_for = time.monotonic() - self._last_turn_end
            if self._turns_running == 0 and idle_for >= quiet_s:
                return
            time.sleep(max(0.05, quiet_s - idle_for) if self._turns_running == 0 else 0.2)

    def stream(self, messages: list, timeout_s: float | None = None, breaker: bool = True,
               meta: dict | None = None, background: bool = False, persist_as: str | None = None,
               **kwargs) -> Iterator[str]:
        """Yield text chunks; raise LLMUnavailable when the budget runs out or the model fails.

        ``meta``: filled with the backend's ``finish_reason`` ("stop": the model ended its answer; "length": the
        token cap cut it) when the backend reports one.

        ``breaker=False``: a timeout of this call does not count towards pausing the LLM (a long form-extraction
        prompt that outgrows its short budget says nothing about the machine being overloaded).

        ``background=True``: work no user waits for (prompt warming). It only starts when the model is free, and a
        user's turn that arrives meanwhile stops it at once (LLMUnavailable) instead of waiting behind it. It is
        counted apart (``warm_*``) so the figures of users' turns stay theirs.

        ``persist_as``: keep the prompt state of this call on disk under that name (local backend only)."""
        if timeout_s is None and self.timeout_s is None:
            raise ValueError("this runner is shared: the call must bring its time budget (timeout_s)")
        if background:
            yield from self._background(messages, timeout_s, meta, persist_as, **kwargs)
            return
        with self._turns_lock:
            self._turns_running += 1
        try:
            yield from self._stream(messages, timeout_s, breaker, meta, persist_as=None, background=False, **kwargs)
        finally:
            with self._turns_lock:
                self._turns_running -= 1
                self._last_turn_end = time.monotonic()

    def _background(self, messages, timeout_s, meta, persist_as, **kwargs) -> Iterator[str]:
        self._count("warm_calls")
        if self._turns_running or time.monotonic() < self._open_until:
            raise LLMUnavailable("the model is serving users")
        yield from self._stream(messages, timeout_s, False, meta, persist_as=persist_as, background=True, **kwargs)

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    @property
    def in_flight(self) -> int:
        """Calls holding a slot now, an abandoned call whose backend has not answered yet included."""
        return self._in_flight

    def wait_settled(self, timeout_s: float) -> bool:
        """Wait until no call holds a slot (abandoned calls end when their backend answers); False on timeout."""
        give_up = time.monotonic() + timeout_s
        while self._in_flight:
            if time.monotonic() >= give_up:
                return False
            time.sleep(0.02)
        return True

    def _take(self, timeout: float | None) -> bool:
        """A slot, at once (``timeout`` None) or within ``timeout`` seconds."""
        got = self._slots.acquire(blocking=False) if timeout is None else self._slots.acquire(timeout=timeout)
        if got:
            with self._stats_lock:
                self._in_flight += 1
        return got

    def _give(self) -> None:
        with self._stats_lock:
            self._in_flight -= 1
        self._slots.release()

    def _stream(self, messages: list, timeout_s: float | None, breaker: bool, meta: dict | None,
                persist_as: str | None, background: bool, **kwargs) -> Iterator[str]:
        budget = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + budget
        abort = getattr(getattr(self.model, "client", None), "abort_event", None)  # local llama.cpp only
        self._admit(budget, background, abort)
        token = object()
        with self._holder_lock:
            self._holder = token
            self._background_holds = background
            if abort is not None:
                abort.clear()
        cache = self.prompt_cache
        if cache is not None:
            cache.persist_as = persist_as
        q: queue.Queue = queue.Queue()
        cancel = threading.Event()
        threading.Thread(target=self._work, args=(messages, kwargs, q, cancel, cache, token), name="daoban-llm",
                         daemon=True).start()
        try:
            yield from self._relay(q, deadline, budget, breaker, meta, "warm_" if background else "")
        finally:
            cancel.set()  # the worker stops at its next chunk (also when the caller stops reading)
            if abort is not None:
                with self._holder_lock:
                    if self._holder is token:
                        abort.set()  # …or in the middle of reading the prompt, if this call still holds the model

    def _admit(self, budget: float, background: bool, abort: threading.Event | None) -> None:
        """Take a slot, or raise LLMUnavailable: paused by the breaker, or every slot busy with other turns."""
        if not background:
            self._count("calls")
            now = time.monotonic()
            if now < self._open_until:
                self._count("skipped")
                raise LLMUnavailable(f"LLM paused for {self._open_until - now:.0f}s after {self.trip_after} timeouts")
        if background:
            # The call before may still be finishing (its worker releases the model a moment after its last token).
            if not self._take(timeout=2.0):
                raise LLMUnavailable("LLM busy")
            return
        if self._take(timeout=None):
            return
        # A turn does not queue long behind others: past queue_wait_s the user gets the composed answer instead.
        give_up = time.monotonic() + min(budget, self.queue_wait_s)
        preempted = False
        while not self._take(timeout=max(0.0, min(0.05, give_up - time.monotonic()))):
            if abort is not None and not preempted:
                with self._holder_lock:
                    if self._background_holds:
                        abort.set()  # users first: stop the warming mid-prompt; it retries when the model is idle
                        preempted = True
                        self._count("warm_preempted")
            if time.monotonic() >= give_up:
                self._count("busy")
                raise LLMUnavailable(f"LLM busy: all {self.max_concurrency} slots taken")

    def _work(self, messages: list, kwargs: dict, q: queue.Queue, cancel: threading.Event, cache,
              token: object) -> None:
        """The model's call, in its own thread: chunks into ``q``; its slot is released when it ends."""
        counters = self._reading_counters()
        try:
            for chunk in self.model.stream(messages, **kwargs):
                if cancel.is_set():
                    break
                text = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
                if text:
                    q.put(("tok", text))
                if reason := (getattr(chunk, "response_metadata", None) or {}).get("finish_reason"):
                    q.put(("fin", reason))
            q.put(("end", None))
        except Exception as exc:  # noqa: BLE001 - any backend failure becomes a fallback
            q.put(("err", exc))
        finally:
            self._note_reading(counters)
            if cache is not None:
                cache.persist_as = None
            with self._holder_lock:
                if self._holder is token:  # with several slots another call may hold the latest token
                    self._holder = None
                    self._background_holds = False
            self._give()

    def _relay(self, q: queue.Queue, deadline: float, budget: float, breaker: bool, meta: dict | None,
               prefix: str) -> Iterator[str]:
        """The worker's chunks until the end or the deadline (counted towards the breaker when ``breaker``)."""
        while True:
            remaining = deadline - time.monotonic()
            try:
                kind, value = q.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                self._count(prefix + "timeouts")
                with self._stats_lock:
                    self._timeouts_in_row += breaker
                    if self._timeouts_in_row >= self.trip_after:
                        self._open_until = time.monotonic() + self.pause_s
                        self._timeouts_in_row = 0
                raise LLMUnavailable(f"LLM gave no answer within {budget:.1f}s") from None
            if kind == "tok":
                self._timeouts_in_row = 0
                yield value
            elif kind == "fin":
                if meta is not None:
                    meta["finish_reason"] = value
            elif kind == "end":
                return
            else:
                self._count(prefix + "errors")
                raise LLMUnavailable(f"LLM call failed: {type(value).__name__}: {value}") from value

    def invoke(self, messages: list, timeout_s: float | None = None, **kwargs) -> str:
        return "".join(self.stream(messages, timeout_s=timeout_s, **kwargs))


class RunnerChat:
    """A runner with its own default budget and breaker rule: one assistant's view of a runner it shares with
    others, or the runner seen as a streaming chat model by the form filler. Calls go through the runner, so
    they share its slots, breaker and counters; nothing of the runner is changed.

    A budget or breaker given to a call wins over the view's; every other attribute is the runner's."""

    def __init__(self, runner: "LLMRunner | RunnerChat", timeout_s: float | None = None, breaker: bool = True):
        self.runner = runner
        self.timeout_s = timeout_s
        self.breaker = breaker

    def stream(self, messages: list, **kwargs) -> Iterator[str]:
        if kwargs.get("timeout_s") is None:
            kwargs["timeout_s"] = self.timeout_s
        kwargs.setdefault("breaker", self.breaker)
        return self.runner.stream(messages, **kwargs)

    def invoke(self, messages: list, **kwargs) -> str:
        return "".join(self.stream(messages, **kwargs))

    def __getattr__(self, name: str):  # prompt_cache, stats, count_tokens, wait_idle…: the shared runner's
        if name == "runner":  # not set yet (copying): no recursion
            raise AttributeError(name)
        return getattr(self.runner, name)


_RUNNERS: dict[int, LLMRunner] = {}


def shared_runner(model: "BaseChatModel", backend: str = "", max_concurrency: int = 1,
                  queue_wait_s: float = 1.0) -> LLMRunner:
    """One runner (one set of slots) per model object: assistants rebuilt after a corpus edit share the model
    safely. It has no budget of its own: each caller brings one (``RunnerChat(runner, timeout_s=…)``). The
    first caller's slots and queue wait stay with the model."""
    with _MODELS_LOCK:
        runner = _RUNNERS.get(id(model))
        if runner is None or runner.model is not model:
            runner = _RUNNERS[id(model)] = LLMRunner(model, None, backend, max_concurrency, queue_wait_s)
        elif runner.max_concurrency != max_concurrency:
            log.warning("the %s model already runs with %d slots; max_concurrency %d ignored",
                        backend, runner.max_concurrency, max_concurrency)
        return runner
