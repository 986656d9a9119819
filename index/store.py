"""On-disk layout of the index and the Chroma client.

    <index_dir>/current.json              which version serves each region (replaced atomically)
    <index_dir>/versions/<slug>-<ver>/    units.jsonl, bm25/, stats.json, manifest.json
    <index_dir>/chroma/                   embedded Chroma (unless settings.index.chroma_url is set)
    <index_dir>/calibration.json          score calibration fitted after a build
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

if TYPE_CHECKING:
    from daoban.settings import Settings

POINTER = "current.json"
FORMAT = 1


def region_slug(region: str) -> str:
    """Chroma names allow only [a-zA-Z0-9._-]: keep ASCII names, hash Chinese ones."""
    ascii_part = re.sub(r"[^a-z0-9]+", "-", region.lower()).strip("-")
    digest = hashlib.sha1(region.encode("utf-8")).hexdigest()[:10]
    return f"{ascii_part[:20]}-{digest}" if ascii_part else f"r-{digest}"


def collection_name(region: str, version: str) -> str:
    return f"daoban-{region_slug(region)}-{version}"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temp file in the same folder, then os.replace: readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_pointer(index_dir: Path) -> dict:
    path = Path(index_dir) / POINTER
    if not path.exists():
        return {"format": FORMAT, "regions": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def chroma_client(settings: "Settings"):
    # lazy: chromadb takes seconds to import; the API answers /healthz before the index loads
    import chromadb
    from chromadb.config import Settings as ChromaSettings  # lazy: as above

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    url = settings.index.chroma_url
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        return chromadb.HttpClient(host=parsed.hostname or "localhost", port=parsed.port or 8000,
                                   ssl=parsed.scheme == "https", settings=chroma_settings)
    path = Path(settings.index_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
