"""Bring outside content into the corpus: FAQ tables (CSV, XLSX, JSONL) and public matter catalogues.

Both are all-or-nothing: a bad file is reported with row numbers and nothing is written."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
import yaml
from pydantic import ValidationError

from corpus.schema import FAQ, CatalogMatter, Region, Source

FAQ_COLUMNS: dict[str, list[str]] = {
    "question": ["question", "问题", "标准问", "问", "咨询问题", "q"],
    "answer": ["answer", "答案", "回答", "答", "答复", "a"],
    "department": ["department", "部门", "所属部门", "责任部门"],
    "tags": ["tags", "标签", "分类", "主题"],
    "sample_questions": ["sample_questions", "相似问法", "相似问", "similar"],
}

# National 政务服务事项 type codes as the provincial platforms use them in taskType.
TASK_TYPES = {
    "1": "行政许可", "4": "行政征收", "5": "行政给付", "6": "行政检查", "7": "行政确认",
    "8": "行政奖励", "9": "行政裁决", "10": "其他行政权力", "20": "公共服务",
}


class ImportFailed(ValueError):
    """The input cannot be imported; ``errors`` says where and why. Nothing was written."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class ImportReport:
    written: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _dump(doc: dict) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000)


def _write_all(files: dict[Path, str]) -> list[Path]:
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".yaml.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return list(files)


# --- FAQ -------------------------------------------------------------------

def _decode(raw: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed([f"{name}: not UTF-8 or GB18030 text"])


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """(columns, [(row number as a person counts it, {column: value})])."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ImportFailed([f"{path}: file not found"])
    if suffix == ".csv":
        text = _decode(path.read_bytes(), path.name)
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise ImportFailed([f"{path.name}: the file is empty (no header row)"])
        return [c.strip() for c in reader.fieldnames], [
            (i, {(k or "").strip(): (v or "") for k, v in row.items()}) for i, row in enumerate(reader, start=2)]
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl  # lazy: only spreadsheets need it

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several types for a damaged file
            raise ImportFailed([f"{path.name}: not a readable XLSX workbook ({exc.__class__.__name__}: {exc})"]) from exc
        rows = book.active.iter_rows(values_only=True)
        header = next(rows, None)
        if not header or not any(header):
            raise ImportFailed([f"{path.name}: the first sheet has no header row"])
        columns = [str(c).strip() if c is not None else "" for c in header]
        out = []
        for i, row in enumerate(rows, start=2):
            out.append((i, {columns[j]: "" if v is None else str(v) for j, v in enumerate(row) if j < len(columns)}))
        return columns, out
    if suffix in (".jsonl", ".ndjson"):
        text = _decode(path.read_bytes(), path.name)
        out, errors, columns = [], [], []
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{path.name}:{i}: not valid JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                errors.append(f"{path.name}:{i}: each line must be a JSON object")
                continue
            columns += [k for k in obj if k not in columns]
            out.append((i, {k: v for k, v in obj.items()}))
        if errors:
            raise ImportFailed(errors)
        return columns, out
    raise ImportFailed([f"{path.name}: unsupported file type {suffix!r}; use .csv, .xlsx or .jsonl"])


def _resolve_columns(columns: list[str], mapping: dict[str, str]) -> dict[str, str | None]:
    resolved: dict[str, str | None] = {}
    for target, candidates in FAQ_COLUMNS.items():
        if target in mapping:
            if mapping[target] not in columns:
                raise ImportFailed([f"--map {target}={mapping[target]}: the file has no column {mapping[target]!r} "
                                    f"(columns: {', '.join(columns)})"])
            resolved[target] = mapping[target]
            continue
        lowered = {c.lower(): c for c in columns}
        resolved[target] = next((lowered[c.lower()] for c in candidates if c.lower() in lowered), None)
    missing = [t for t in ("question", "answer") if not resolved[t]]
    if missing:
        raise ImportFailed([f"no {' or '.join(missing)} column found (columns: {', '.join(columns)}); "
                            f"name it with --map {missing[0]}=<column>"])
    return resolved


def _split_list(value) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in re.split(r"[;；|,，、\n]", str(value or "")) if p.strip()]


def faq_id(region: str, question: str) -> str:
    digest = hashlib.sha1(f"{region}|{question.strip()}".encode()).hexdigest()[:12]
    return f"faq-{digest}"


def import_faq(path: Path | str, region_dir: Path, region: str, mapping: dict[str, str] | None = None,
               department: str | None = None, source_name: str | None = None) -> ImportReport:
    """Import a FAQ table into ``region_dir/faqs/``. Re-importing the same file updates the same files."""
    path = Path(path)
    columns, rows = _read_rows(path)
    if not rows:
        raise ImportFailed([f"{path.name}: no data rows"])
    cols = _resolve_columns(columns, mapping or {})
    files: dict[Path, str] = {}
    errors: list[str] = []
    report = ImportReport()
    seen: dict[str, int] = {}
    today = dt.date.today()
    for number, row in rows:
        question = str(row.get(cols["question"]) or "").strip()
        answer = str(row.get(cols["answer"]) or "").strip()
        if not question and not answer:
            report.skipped.append(f"row {number}: empty")
            continue
        doc_id = faq_id(region, question)
        if doc_id in seen:
            report.skipped.append(f"row {number}: same question as row {seen[doc_id]}")
            continue
        seen[doc_id] = number
        doc = {
            "id": doc_id, "question": question, "answer": answer, "region": region,
            "department": str(row.get(cols["department"]) or "").strip() or department,
            "tags": _split_list(row.get(cols["tags"])) if cols["tags"] else [],
            "sample_questions": _split_list(row.get(cols["sample_questions"])) if cols["sample_questions"] else [],
            "source": {"name": source_name or f"导入自 {path.name}"},
            "updated": today.isoformat(),
        }
        try:
            FAQ.model_validate(doc)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                field_name = {"question": cols["question"], "answer": cols["answer"]}.get(where, where)
                errors.append(f"{path.name}: row {number}: {field_name}: {err['msg']}")
            continue
        files[region_dir / "faqs" / f"{doc_id}.yaml"] = _dump({k: v for k, v in doc.items() if v not in (None, [])})
    if errors:
        raise ImportFailed(errors)
    report.written = _write_all(files)
    return report


# --- Catalogue -----------------------------------------------------------

def catalog_id(item_code: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", item_code.lower()).strip("-")
    return slug[:81]


def import_catalog(csv_path: Path | str, region_dir: Path, region: Region, source: Source) -> ImportReport:
    """Import a public matter catalogue (columns department, main_item, name, itemCode, taskType, link)
    into ``region_dir/catalog/`` and write ``region_dir/region.yaml``."""
    csv_path = Path(csv_path)
    columns, rows = _read_rows(csv_path)
    needed = ["department", "name", "itemCode"]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise ImportFailed([f"{csv_path.name}: missing column(s) {', '.join(missing)} (columns: {', '.join(columns)})"])
    files: dict[Path, str] = {}
    errors: list[str] = []
    ids: dict[str, int] = {}
    for number, row in rows:
        code = (row.get("itemCode") or "").strip()
        name = (row.get("name") or "").strip()
        if not code or not name:
            errors.append(f"{csv_path.name}: row {number}: name and itemCode are required")
            continue
        doc_id = catalog_id(code)
        if doc_id in ids:
            errors.append(f"{csv_path.name}: row {number}: itemCode {code} repeats row {ids[doc_id]}")
            continue
        ids[doc_id] = number
        main_item = (row.get("main_item") or "").strip()
        task_type = (row.get("taskType") or "").strip()
        doc = {
            "id": doc_id, "title": name, "region": region.name,
            "department": (row.get("department") or "").strip(),
            "main_item": None if main_item in ("", "未分类") else main_item,
            "code": code, "task_type": task_type or None, "matter_type": TASK_TYPES.get(task_type),
            "link": (row.get("link") or "").strip() or None,
            "source": source.model_dump(exclude_none=True),
        }
        try:
            CatalogMatter.model_validate(doc)
        except ValidationError as exc:
            errors += [f"{csv_path.name}: row {number}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            continue
        files[region_dir / "catalog" / f"{doc_id}.yaml"] = _dump({k: v for k, v in doc.items() if v is not None})
    if errors:
        raise ImportFailed(errors)
    files[region_dir / "region.yaml"] = _dump(region.model_dump(exclude_none=True, exclude_defaults=False))
    report = ImportReport()
    report.written = _write_all(files)
    return report

