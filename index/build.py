"""Build the index: units -> BM25 (bm25s, persisted) + dense vectors (Chroma), one collection per region and version.

A build writes a *new* version next to the serving one and then switches the
pointer file with ``os.replace``; a failure anywhere before the switch deletes the
half-built version and leaves the old one serving. Units whose content hash is
unchanged reuse their old vectors instead of being re-embedded."""
from __future__ import annotations

import fcntl
import hashlib
import json
import secrets
import shutil
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import bm25s
import yaml
from pydantic import BaseModel, Field

from corpus.loader import Corpus, load_corpus
from index import store
from index.calibrate import calibrate_index
from index.embeddings import embedding_id, get_embeddings
from index.retriever import FEATURES
from index.text import Tokenizer, text_version
from index.units import Unit, dictionary_words, document_units

if TYPE_CHECKING:
    from daoban.settings import Settings

Progress = Callable[[str, int, int], None]  # (stage description, done, total)


class RegionReport(BaseModel):
    region: str
    version: str
    documents: int
    units: int
    dense_units: int = 0
    embedded: int
    reused: int
    removed: int
    unchanged: bool = False


class BuildReport(BaseModel):
    version: str = Field(description="version id written by this build (unchanged regions keep theirs)")
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    documents: int = 0
    units: int = 0
    seconds: float = 0.0
    skipped_files: int = Field(default=0, description="corpus files with errors, left out of the index")
    regions: list[RegionReport] = Field(default_factory=list)
    calibrated: bool = False


def _group_by_region(corpus: "Corpus") -> dict[str, list]:
    """Index region = the region folder's name from region.yaml (falls back to the document's own region)."""
    groups: dict[str, list] = defaultdict(list)
    for doc in corpus.documents():
        info = corpus.sources.get(doc.id)
        region = None
        if info is not None:
            folder = Path(info.file).parent.parent.name
            if folder in corpus.regions:
                region = corpus.regions[folder].name
        groups[region or doc.region].append(doc)
    return groups


def _fingerprint(units: list[Unit], embedding_id: str) -> str:
    h = hashlib.sha1(f"{store.FORMAT}|{embedding_id}|{text_version()}".encode())
    for u in units:
        h.update("\x1f".join((u.uid, u.kind, u.title, u.region, u.audience, u.text, u.embed_text)).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def _noop(stage: str, done: int, total: int) -> None:
    pass


def build_index(settings: "Settings", regions: list[str] | None = None, progress: Progress | None = None,
                corpus: "Corpus | None" = None) -> BuildReport:
    """Build or refresh the index of ``regions`` (names or folder names; all when None).

    Builds of one index folder run one at a time (a file lock): two processes updating the region
    pointers at once would otherwise lose one region's switch."""
    index_dir = Path(settings.index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_index(settings, regions, progress, corpus)


def _build_index(settings: "Settings", regions: list[str] | None, progress: Progress | None,
                 corpus: "Corpus | None") -> BuildReport:
    progress = progress or _noop
    started = time.perf_counter()
    index_dir = Path(settings.index_dir)
    emb_id = embedding_id(settings)
    signatures: dict[str, str] = {}
    if corpus is None:
        # Fast path: when no file of a region changed since its last build (same names, sizes and mtimes),
        # there is nothing to parse. Any difference falls through to the content hashes below.
        signatures = _folder_signatures(Path(settings.corpus_dir), regions, emb_id)
        report = _unchanged_folders(index_dir, signatures)
        # A new retriever (other features) still refits a calibration on disk; a corpus too small to fit one has none.
        if report is not None and not ((index_dir / "calibration.json").exists()
                                       and _calibration_stale(index_dir, emb_id)):
            report.seconds = round(time.perf_counter() - started, 2)
            return report
        progress("reading corpus", 0, 1)
        corpus = load_corpus(settings.corpus_dir, regions)
    if not corpus.regions and not len(corpus):
        raise FileNotFoundError(f"no corpus documents under {settings.corpus_dir}"
                                + (f" for regions {regions}" if regions else "")
                                + "; check DAOBAN_CORPUS_DIR or the --region name")
    index_dir.mkdir(parents=True, exist_ok=True)
    version = time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(2)
    report = BuildReport(version=version, skipped_files=len({p.file for p in corpus.problems if p.severity == "error"}))

    groups = _group_by_region(corpus)
    words = dictionary_words(corpus.documents())
    tokenizer = Tokenizer()  # this build's: it knows exactly the corpus words written to userdict.txt
    tokenizer.add_words(words)
    client = store.chroma_client(settings)
    embeddings = None
    changed = False

    for region, docs in sorted(groups.items()):
        units = [u for d in docs for u in document_units(d)]
        fp = _fingerprint(units, emb_id)
        pointer = store.read_pointer(index_dir)
        old = pointer["regions"].get(region)
        if old and old.get("fingerprint") == fp and (index_dir / old["dir"]).is_dir():
            n_dense = sum(1 for u in units if u.embed_text)
            report.regions.append(RegionReport(region=region, version=old["version"], documents=len(docs),
                                               units=len(units), dense_units=n_dense, embedded=0, reused=n_dense,
                                               removed=0, unchanged=True))
            report.reused += n_dense
            continue
        if embeddings is None:
            embeddings = get_embeddings(settings, for_build=True)
        rr = _build_region(settings, client, embeddings, emb_id, region, docs, units, words, tokenizer, fp, version,
                           old, progress)
        report.regions.append(rr)
        report.embedded += rr.embedded
        report.reused += rr.reused
        report.removed += rr.removed
        changed = True
    report.documents = sum(r.documents for r in report.regions)
    report.units = sum(r.units for r in report.regions)
    if signatures and not any(p.severity == "error" for p in corpus.problems):  # a corpus with errors is re-read next time
        pointer = store.read_pointer(index_dir)
        for r, sig in signatures.items():
            if r in pointer["regions"]:
                pointer["regions"][r]["files"] = sig
        store.write_json_atomic(index_dir / store.POINTER, pointer)

    if changed or _calibration_stale(index_dir, emb_id):
        progress("calibrating scores", 0, 1)
        report.calibrated = calibrate_index(settings, corpus) is not None
        progress("calibrating scores", 1, 1)
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _unchanged_folders(index_dir: Path, signatures: dict[str, str]) -> BuildReport | None:
    """The report of a build with nothing to do (every region folder as at its last build), else None."""
    pointer = store.read_pointer(index_dir)
    if not signatures or not all(pointer["regions"].get(r, {}).get("files") == sig and
                                 (index_dir / pointer["regions"][r]["dir"]).is_dir() for r, sig in signatures.items()):
        return None
    report = BuildReport(version=max(pointer["regions"][r]["version"] for r in signatures))
    for r in sorted(signatures):
        e = pointer["regions"][r]
        n_dense = e.get("dense_units", 0)
        report.regions.append(RegionReport(region=r, version=e["version"], documents=e["documents"],
                                           units=e["units"], dense_units=n_dense, embedded=0,
                                           reused=n_dense, removed=0, unchanged=True))
    report.documents = sum(x.documents for x in report.regions)
    report.units = sum(x.units for x in report.regions)
    report.reused = sum(x.reused for x in report.regions)
    return report


def _calibration_stale(index_dir: Path, emb_id: str) -> bool:
    calib_path = index_dir / "calibration.json"
    if not calib_path.exists():
        return True
    data = json.loads(calib_path.read_text(encoding="utf-8"))
    # A retriever whose features changed ignores the old fit: refit it rather than serve the default.
    return data.get("embedding_id") != emb_id or data.get("features") != FEATURES


def _folder_signatures(root: Path, regions: list[str] | None, emb_id: str) -> dict[str, str]:
    """Region name -> hash of every file's relative path, size and mtime in that region folder."""
    out: dict[str, str] = {}
    if not root.is_dir():
        return out
    wanted = set(regions) if regions else None
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        region_file = folder / "region.yaml"
        if not region_file.exists():
            return {}  # documents without a region file are grouped by their own region: take the slow path
        try:
            name = (yaml.safe_load(region_file.read_text(encoding="utf-8")) or {}).get("name")
        except (yaml.YAMLError, OSError):
            return {}
        if not name or (wanted and name not in wanted and folder.name not in wanted):
            continue
        h = hashlib.sha1(f"{store.FORMAT}|{emb_id}|{text_version()}".encode())
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                st = path.stat()
                h.update(f"{path.relative_to(folder)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        out[name] = h.hexdigest()
    return out


def _old_vectors(client, old: dict | None, emb_id: str, units: list[Unit]) -> dict[str, list[float]]:
    """content hash -> vector, from the serving version, for units whose text is unchanged."""
    if not old or old.get("embedding_id") != emb_id:
        return {}
    try:
        col = client.get_collection(old["collection"])
    except Exception:  # the old collection is gone: embed everything again
        return {}
    old_units = _read_units(Path(old["abs_dir"]))
    old_hash = {u["uid"]: u["hash"] for u in old_units}
    wanted = [u.uid for u in units if u.embed_text and old_hash.get(u.uid) == u.content_hash]
    vectors: dict[str, list[float]] = {}
    for i in range(0, len(wanted), 2000):
        got = col.get(ids=wanted[i:i + 2000], include=["embeddings"])
        for uid, vec in zip(got["ids"], got["embeddings"]):
            vectors[old_hash[uid]] = list(vec)
    return vectors


def _read_units(version_dir: Path) -> list[dict]:
    path = version_dir / "units.jsonl"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _build_region(settings, client, embeddings, emb_id: str, region: str, docs: list, units: list[Unit],
                  words: set[str], tokenizer: Tokenizer, fingerprint: str, version: str, old: dict | None,
                  progress: Progress) -> RegionReport:
    index_dir = Path(settings.index_dir)
    rel_dir = f"versions/{store.region_slug(region)}-{version}"
    vdir = index_dir / rel_dir
    name = store.collection_name(region, version)
    if old:
        old = {**old, "abs_dir": str(index_dir / old["dir"])}
    col = None
    try:
        vdir.mkdir(parents=True, exist_ok=False)
        dense_units = [u for u in units if u.embed_text]
        vectors, reused, embedded = _dense_vectors(settings, client, embeddings, emb_id, region, dense_units, old,
                                                   progress)
        col = client.create_collection(name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
                                       metadata={"region": region, "version": version, "embedding_id": emb_id})
        _store_vectors(client, col, region, dense_units, vectors, progress)
        progress(f"BM25 {region}", 0, 1)
        _write_sparse(vdir, units, tokenizer, words)
        manifest = {"region": region, "version": version, "collection": name, "dir": rel_dir,
                    "embedding_id": emb_id, "fingerprint": fingerprint, "documents": len(docs), "units": len(units),
                    "dense_units": len(dense_units),
                    "dim": len(next(iter(vectors.values()))) if vectors else 0, "built": time.time()}
        store.write_json_atomic(vdir / "manifest.json", manifest)
        progress(f"BM25 {region}", 1, 1)
        if col.count() != len(dense_units):
            raise RuntimeError(f"Chroma holds {col.count()} vectors for {len(dense_units)} units of {region}")
    except BaseException:
        # Leave the serving version untouched; drop what this build wrote.
        if col is not None:
            try:
                client.delete_collection(name)
            except Exception:
                pass
        shutil.rmtree(vdir, ignore_errors=True)
        raise
    removed = _switch(index_dir, client, region, manifest, units)
    return RegionReport(region=region, version=version, documents=len(docs), units=len(units),
                        dense_units=len(dense_units), embedded=embedded, reused=reused, removed=removed)


def _dense_vectors(settings, client, embeddings, emb_id: str, region: str, dense_units: list[Unit], old: dict | None,
                   progress: Progress) -> tuple[dict[str, list[float]], int, int]:
    """(content hash -> vector, units whose vector was reused, texts embedded): vectors of unchanged units come
    from the serving version, each distinct new text is embedded once."""
    vectors = _old_vectors(client, old, emb_id, dense_units)
    reused = sum(1 for u in dense_units if u.content_hash in vectors)
    todo: dict[str, str] = {}
    for u in dense_units:
        if u.content_hash not in vectors:
            todo.setdefault(u.content_hash, u.embed_text)
    hashes, texts = list(todo), list(todo.values())
    batch = max(8, settings.embedding.batch_size)
    label = f"embedding {region}"
    progress(label, 0, len(texts))
    for i in range(0, len(texts), batch):
        vecs = embeddings.embed_documents(texts[i:i + batch])
        for h, v in zip(hashes[i:i + batch], vecs):
            vectors[h] = v
        progress(label, min(i + batch, len(texts)), len(texts))
    return vectors, reused, len(texts)


def _store_vectors(client, col, region: str, dense_units: list[Unit], vectors: dict[str, list[float]],
                   progress: Progress) -> None:
    step = min(4000, client.get_max_batch_size())
    label = f"storing {region}"
    progress(label, 0, len(dense_units))
    for i in range(0, len(dense_units), step):
        chunk = dense_units[i:i + step]
        col.add(ids=[u.uid for u in chunk],
                embeddings=[vectors[u.content_hash] for u in chunk],
                metadatas=[{"doc_id": u.doc_id, "kind": u.kind, "section": u.section, "region": u.region,
                            "aud_person": (not u.audience) or "个人" in u.audience,
                            "aud_legal": (not u.audience) or "法人" in u.audience,
                            } for u in chunk])
        progress(label, min(i + step, len(dense_units)), len(dense_units))


def _write_sparse(vdir: Path, units: list[Unit], tokenizer: Tokenizer, words: set[str]) -> None:
    """bm25s over the tokenizer's words of each unit (an empty unit gets a placeholder so rows stay aligned),
    the unit table, the document frequencies and the corpus words (the retriever teaches its tokenizer them)."""
    token_lists = [tokenizer.tokenize(u.text) or ["_"] for u in units]
    bm25 = bm25s.BM25()
    bm25.index(token_lists, show_progress=False)
    bm25.save(str(vdir / "bm25"), show_progress=False)
    df = Counter(t for toks in token_lists for t in set(toks))
    with (vdir / "units.jsonl").open("w", encoding="utf-8") as f:
        for u, toks in zip(units, token_lists):
            f.write(json.dumps({"uid": u.uid, "doc_id": u.doc_id, "kind": u.kind, "title": u.title,
                                "section": u.section, "region": u.region, "audience": u.audience,
                                "text": u.text, "hash": u.content_hash if u.embed_text else "", "tokens": toks},
                               ensure_ascii=False) + "\n")
    (vdir / "stats.json").write_text(json.dumps({"n": len(units), "df": df}, ensure_ascii=False), encoding="utf-8")
    (vdir / "userdict.txt").write_text("\n".join(sorted(words)), encoding="utf-8")


def _switch(index_dir: Path, client, region: str, manifest: dict, units: list[Unit]) -> int:
    """Serve the new version: one os.replace of the pointer file. Older versions beyond the previous one are
    removed. Returns how many units of the previous version are gone."""
    pointer = store.read_pointer(index_dir)
    previous = pointer["regions"].get(region)
    pointer["regions"][region] = {k: manifest[k] for k in ("version", "collection", "dir", "embedding_id",
                                                           "fingerprint", "documents", "units", "dense_units")}
    if previous:
        pointer["regions"][region]["previous"] = {k: previous[k] for k in ("version", "collection", "dir")}
    store.write_json_atomic(index_dir / store.POINTER, pointer)
    older = (previous or {}).get("previous")
    if older:
        try:
            client.delete_collection(older["collection"])
        except Exception:
            pass
        shutil.rmtree(index_dir / older["dir"], ignore_errors=True)
    old_uids = {u["uid"] for u in _read_units(index_dir / previous["dir"])} if previous else set()
    return len(old_uids - {u.uid for u in units})
