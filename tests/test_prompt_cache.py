"""The prompt-state cache on a real folder: longest-prefix lookup, the RAM budget, states kept on disk and read
back by a later process, damaged files, pruning. States are llama-cpp-python's own LlamaState objects holding
made-up bytes (the model-backed round trip is in test_agent_llm.py, marked llm)."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

pytest.importorskip("llama_cpp")

from llama_cpp.llama import LlamaState  # noqa: E402

from agent.prompt_cache import PromptStateCache  # noqa: E402

SYSTEM = list(range(1, 40))  # every prompt starts with the system prompt's tokens


def state(tokens: list[int], size: int = 1000, fill: int = 7) -> LlamaState:
    ids = np.zeros(64, dtype=np.intc)
    ids[: len(tokens)] = tokens
    data = bytes([fill]) * size
    return LlamaState(input_ids=ids, scores=np.empty((0, 0), dtype=np.single), n_tokens=len(tokens),
                      llama_state=data, llama_state_size=size, seed=42)


def test_the_longest_shared_prefix_wins_and_unrelated_prompts_miss(tmp_path):
    cache = PromptStateCache(capacity_bytes=1 << 20, store_dir=tmp_path)
    guide_a, guide_b = SYSTEM + [100, 101, 102], SYSTEM + [200, 201]
    cache[guide_a] = state(guide_a, fill=1)
    cache[guide_b] = state(guide_b, fill=2)
    assert cache[guide_b + [900, 901]].llama_state[0] == 2       # a question about guide B resumes after B
    assert cache[guide_a[:-1] + [555]].llama_state[0] == 1       # the longer shared stretch is A's
    assert guide_a + [9] in cache
    with pytest.raises(KeyError):
        cache[[999, 1, 2]]                                       # nothing starts like this
    assert list(tmp_path.iterdir()) == []                        # turns' states stay in RAM only


def test_ram_keeps_the_most_recently_used_states_within_its_budget(tmp_path):
    cache = PromptStateCache(capacity_bytes=2500, store_dir=tmp_path)
    a, b, c = SYSTEM + [1], SYSTEM + [2], SYSTEM + [3]
    cache[a] = state(a, fill=1)
    cache[b] = state(b, fill=2)
    assert cache[a].llama_state[0] == 1                          # a is now the most recent
    cache[c] = state(c, fill=3)                                  # 3000 bytes > 2500: b, the least recent, goes
    assert cache.cache_size == 2000
    assert cache[b].llama_state[0] in (1, 3)                     # b itself is gone; a shorter prefix answers
    assert cache[c].llama_state[0] == 3


def test_a_persisted_state_is_found_again_by_a_later_process(tmp_path):
    first = PromptStateCache(capacity_bytes=1 << 20, store_dir=tmp_path)
    prompt = SYSTEM + [300, 301, 302, 303]
    first.persist_as = "guide-x"
    first[prompt] = state(prompt, size=4096, fill=9)
    assert first.persist_as is None                              # only that one call is kept
    assert (tmp_path / "guide-x.npz").exists()
    other = SYSTEM + [400]
    first[other] = state(other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guide-x.npz"]

    later = PromptStateCache(capacity_bytes=1 << 20, store_dir=tmp_path)
    with pytest.raises(KeyError):
        later[prompt + [1]]                                      # not indexed until the warmer asks for it
    assert later.load_stored("guide-x") and later.disk_indexed == 1
    assert not later.load_stored("guide-y")
    got = later[prompt + [777]]
    assert later.disk_loads == 1
    assert got.llama_state == bytes([9]) * 4096 and got.llama_state_size == 4096
    assert got.n_tokens == len(prompt) and list(got.input_ids[: got.n_tokens]) == prompt and got.seed == 42


def test_a_damaged_state_file_is_dropped_not_fatal(tmp_path):
    (tmp_path / "broken.npz").write_bytes(b"not a numpy archive")
    cache = PromptStateCache(capacity_bytes=1 << 20, store_dir=tmp_path)
    assert not cache.load_stored("broken")
    assert not (tmp_path / "broken.npz").exists()                # computed again by the next warming

    cache.persist_as = "good"
    cache[SYSTEM + [5]] = state(SYSTEM + [5])
    fresh = PromptStateCache(capacity_bytes=1 << 20, store_dir=tmp_path)
    assert fresh.load_stored("good")
    (tmp_path / "good.npz").write_bytes(b"truncated")            # damaged after it was indexed
    with pytest.raises(KeyError):
        fresh[SYSTEM + [5, 6]]
    assert fresh.stored_names() == [] and not (tmp_path / "good.npz").exists()


def test_prune_removes_outdated_states_and_spares_wanted_or_recent_ones(tmp_path):
    cache = PromptStateCache(capacity_bytes=1 << 20, store_dir=tmp_path)
    for i, name in enumerate(["kept", "edited-away", "fresh"]):
        cache.persist_as = name
        cache[SYSTEM + [i]] = state(SYSTEM + [i])
    old = time.time() - 3600
    for name in ("kept", "edited-away"):
        os.utime(tmp_path / f"{name}.npz", (old, old))
    cutoff = time.time() - 60
    assert cache.prune(["kept"], older_than=cutoff) == 1         # "fresh" was written after the cut-off
    assert sorted(p.stem for p in tmp_path.glob("*.npz")) == ["fresh", "kept"]
    assert "edited-away" not in cache.stored_names()


def test_a_state_llama_cpp_refused_is_forgotten_everywhere(tmp_path):
    cache = PromptStateCache(capacity_bytes=1 << 20, store_dir=tmp_path)
    prompt = SYSTEM + [8, 9]
    cache.persist_as = "refused"
    cache[prompt] = state(prompt)
    bad = cache[prompt + [1]]
    cache.forget(bad)
    assert cache.cache_size == 0 and cache.stored_names() == [] and not (tmp_path / "refused.npz").exists()
    with pytest.raises(KeyError):
        cache[prompt]
