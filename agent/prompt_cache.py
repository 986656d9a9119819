"""llama.cpp prompt states kept for reuse: recent prompts in RAM, warmed guides on disk.

On a 2-core CPU reading the prompt dominates the time to the first token (about 65 tokens/s, so a guide's facts
cost 1.5-2 s). llama-cpp-python asks its cache for the stored state whose tokens share the longest prefix with
the new prompt and reads only the rest. Its own caches do not fit: ``LlamaRAMCache`` forgets everything at a
restart (warming every guide again costs minutes of CPU), and ``LlamaDiskCache`` removes an entry when it is read
and prints on every write. This cache keeps two tiers:

- RAM: the states of recent turns, least recently used first out (``capacity_bytes``);
- disk: the states the warmer asked to keep (``persist_as``), one file each, found again after a restart. Only
  their tokens stay in memory; a state is read from disk when a prompt resumes from it.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

log = logging.getLogger("daoban.agent.llm")

try:  # the base class only exists with llama-cpp-python installed (backend `local`)
    from llama_cpp.llama_cache import BaseLlamaCache
except ImportError:  # pragma: no cover - the none and openai backends never build this cache
    BaseLlamaCache = object  # type: ignore[assignment,misc]


def _common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if diff.size else n


class PromptStateCache(BaseLlamaCache):
    def __init__(self, capacity_bytes: int, store_dir: Path | None = None):
        self.capacity_bytes = capacity_bytes
        self.store_dir = Path(store_dir) if store_dir else None
        self.persist_as: str | None = None  # set by the runner for one call: keep that call's state on disk
        self._ram: OrderedDict[tuple[int, ...], object] = OrderedDict()
        self._ram_tokens: dict[tuple[int, ...], np.ndarray] = {}
        self._ram_bytes = 0
        self._stored: dict[str, np.ndarray] = {}  # file name -> the tokens its state holds
        self._lock = threading.Lock()
        self.disk_loads = 0  # states read back from disk for a prompt (for tests and the benchmark)
        self.disk_indexed = 0  # kept states an earlier process wrote, found again by load_stored

    # -- what llama-cpp-python calls ---------------------------------------------------------------
    @property
    def cache_size(self) -> int:
        return self._ram_bytes

    def __contains__(self, key: Sequence[int]) -> bool:
        return self._best(np.asarray(key, dtype=np.int32))[1] is not None

    def __getitem__(self, key: Sequence[int]):
        query = np.asarray(key, dtype=np.int32)
        with self._lock:
            _, best = self._best(query)
            if best is None:
                raise KeyError("no stored prompt shares a prefix")
            if isinstance(best, tuple):
                self._ram.move_to_end(best)
                return self._ram[best]
        state = self._read(best)
        if state is None:
            raise KeyError(best)
        self.disk_loads += 1
        return state

    def __setitem__(self, key: Sequence[int], value) -> None:
        key = tuple(int(t) for t in key)
        with self._lock:
            name, self.persist_as = self.persist_as, None
            self._put_ram(key, value)
        if name and self.store_dir is not None:
            self._write(name, key, value)

    # -- the warm store ----------------------------------------------------------------------------
    def load_stored(self, name: str) -> bool:
        """Make a state kept by an earlier process available again; False when there is none (or it is unreadable)."""
        if name in self._stored:
            return True
        path = self._path(name)
        if path is None or not path.exists():
            return False
        try:
            with np.load(path) as f:
                tokens = f["tokens"].astype(np.int32)
            os.utime(path)  # recently wanted: a prune by an older warmer leaves it alone
        except Exception as exc:  # noqa: BLE001 - a damaged file is recomputed, not fatal
            log.warning("dropping unreadable prompt state %s: %s", path.name, exc)
            path.unlink(missing_ok=True)
            return False
        with self._lock:
            self._stored[name] = tokens
            self.disk_indexed += 1
        return True

    def stored_names(self) -> list[str]:
        return sorted(self._stored)

    def forget(self, state) -> None:
        """Drop a state llama.cpp refused to restore (from RAM, and from disk when it came from there)."""
        ids = np.asarray(state.input_ids[: state.n_tokens], dtype=np.int32)
        with self._lock:
            for key in [k for k, t in self._ram_tokens.items() if np.array_equal(t[: len(ids)], ids)]:
                self._ram_bytes -= self._ram.pop(key).llama_state_size
                self._ram_tokens.pop(key)
            names = [n for n, t in self._stored.items() if np.array_equal(t[: len(ids)], ids)]
            for name in names:
                self._stored.pop(name)
        for name in names:
            self._path(name).unlink(missing_ok=True)

    def prune(self, keep: Iterable[str], older_than: float) -> int:
        """Delete kept states not in ``keep`` and not touched since ``older_than`` (a guide edited or removed)."""
        if self.store_dir is None or not self.store_dir.exists():
            return 0
        keep = set(keep)
        removed = 0
        for path in self.store_dir.glob("*.npz"):
            if path.stem not in keep and path.stat().st_mtime < older_than:
                path.unlink(missing_ok=True)
                with self._lock:
                    self._stored.pop(path.stem, None)
                removed += 1
        return removed

    # -- internals ---------------------------------------------------------------------------------
    def _best(self, query: np.ndarray) -> tuple[int, object]:
        """The longest shared prefix: a RAM key (a tuple) or a stored state's name (a str); RAM wins ties."""
        best_len, best = 0, None
        for key, tokens in self._ram_tokens.items():
            n = _common_prefix(tokens, query)
            if n > best_len:
                best_len, best = n, key
        for name, tokens in self._stored.items():
            n = _common_prefix(tokens, query)
            if n > best_len:
                best_len, best = n, name
        return best_len, best

    def _put_ram(self, key: tuple[int, ...], value) -> None:
        if key in self._ram:
            self._ram_bytes -= self._ram.pop(key).llama_state_size
        self._ram[key] = value
        self._ram_tokens[key] = np.asarray(key, dtype=np.int32)
        self._ram_bytes += value.llama_state_size
        while self._ram_bytes > self.capacity_bytes and self._ram:
            old, state = self._ram.popitem(last=False)
            self._ram_tokens.pop(old, None)
            self._ram_bytes -= state.llama_state_size

    def _path(self, name: str) -> Path | None:
        return self.store_dir / f"{name}.npz" if self.store_dir is not None else None

    def _write(self, name: str, key: tuple[int, ...], value) -> None:
        path = self._path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.npz")
            np.savez(tmp, tokens=np.asarray(key, dtype=np.int32), input_ids=np.asarray(value.input_ids),
                     n_tokens=np.int64(value.n_tokens), seed=np.int64(value.seed),
                     state=np.frombuffer(value.llama_state, dtype=np.uint8))
            os.replace(tmp, path)  # whole or absent: a crash mid-write leaves no half state behind
        except OSError as exc:
            log.warning("could not keep prompt state %s on disk: %s", name, exc)
            return
        with self._lock:
            self._stored[name] = np.asarray(key, dtype=np.int32)

    def _read(self, name: str):
        from llama_cpp.llama import LlamaState
        path = self._path(name)
        try:
            with np.load(path) as f:
                data = f["state"].tobytes()
                return LlamaState(input_ids=f["input_ids"].astype(np.intc), scores=np.empty((0, 0), dtype=np.single),
                                  n_tokens=int(f["n_tokens"]), llama_state=data, llama_state_size=len(data),
                                  seed=int(f["seed"]))
        except Exception as exc:  # noqa: BLE001 - the turn reads its whole prompt instead
            log.warning("dropping unreadable prompt state %s: %s", name, exc)
            with self._lock:
                self._stored.pop(name, None)
            if path is not None:
                path.unlink(missing_ok=True)
            return None


def store_dir_for(data_dir: Path, model_path: str, n_ctx: int) -> Path:
    """Kept states only fit the model file, context size and llama.cpp build that made them."""
    import llama_cpp
    st = Path(model_path).stat()
    return Path(data_dir) / "llm-states" / f"{Path(model_path).stem}-{st.st_size}-ctx{n_ctx}-{llama_cpp.__version__}"

