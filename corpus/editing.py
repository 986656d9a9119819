"""Edits content staff make from the admin console, written through the same validation.

Edits are textual (a line inserted), so the rest of a hand-written file, its comments and
its layout, stays exactly as staff wrote it."""
from __future__ import annotations

import json
import os
from pathlib import Path

from corpus.loader import DEFAULT_ROOT, Problem, load_corpus, read_yaml
from corpus.validate import check_corpus, errors, normalize_question


class EditRejected(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def _insert_sample_question(text: str, path: Path, question: str) -> str:
    _, info = read_yaml(path, text)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    quoted = json.dumps(question, ensure_ascii=False)  # a JSON string is a valid YAML scalar
    items = sorted((k[1], line) for k, line in info.lines.items()
                   if len(k) == 2 and k[0] == "sample_questions" and isinstance(k[1], int))
    if items:
        last_line = items[-1][1]  # 1-based line of the last item
        item_text = lines[last_line - 1]
        if item_text.lstrip().startswith("- "):
            indent = item_text[: len(item_text) - len(item_text.lstrip())]
            lines.insert(last_line, f"{indent}- {quoted}\n")
            return "".join(lines)
    if ("sample_questions",) in info.lines:  # empty or flow-style list: rewrite that one key
        key_line = info.lines[("sample_questions",)]
        data, _ = read_yaml(path, text)
        merged = list(data.get("sample_questions") or []) + [question]
        end = key_line
        while end < len(lines) and (lines[end].startswith((" ", "\t", "-")) and not lines[end].strip() == ""):
            end += 1
        block = "sample_questions:\n" + "".join(f"  - {json.dumps(q, ensure_ascii=False)}\n" for q in merged)
        return "".join(lines[: key_line - 1]) + block + "".join(lines[end:])
    return "".join(lines) + f"sample_questions:\n  - {quoted}\n"


def add_sample_question(doc_id: str, question: str, root: Path | str | None = None) -> list[Problem]:
    """Add ``question`` as a 相似问法 of ``doc_id``. Writes only when the whole corpus still validates
    (no new error); returns the problems that stopped it otherwise (empty list on success)."""
    root = Path(root) if root else DEFAULT_ROOT
    question = question.strip()
    corpus = load_corpus(root)
    doc = corpus.get(doc_id)
    if doc is None:
        return [Problem(str(root), 1, "doc_id", f"no document with id {doc_id!r}", "not-found")]
    if not normalize_question(question):
        return [Problem(str(corpus.sources[doc_id].file), 1, "sample_questions", "the question is empty", "schema")]
    path = corpus.sources[doc_id].file
    def key(p: Problem) -> tuple:  # lines shift after an insert; compare what and where by field
        return (p.file, p.field, p.code, p.message)

    before = {key(p) for p in errors(check_corpus(corpus))}
    new_text = _insert_sample_question(path.read_text(encoding="utf-8"), path, question)
    after = errors(check_corpus(load_corpus(root, overrides={path: new_text})))
    new_problems = [p for p in after if key(p) not in before]
    if new_problems:
        return new_problems
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    os.replace(tmp, path)  # atomic: a crash leaves the old file or the new one, never half
    return []
