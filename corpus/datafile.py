"""Vocabulary files (``agent/data/*.yaml``, ``index/data/*.yaml``) read through a pydantic model.

Every problem names its file and line, so a content editor can fix a broken word list without reading code:
``load_data_file(path, Model)`` returns the validated model or raises ``DataFileError``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from corpus.loader import SourceInfo, read_yaml

M = TypeVar("M", bound=BaseModel)


class DataFileError(ValueError):
    """A vocabulary file is broken; ``problems`` holds one ``file:line: message`` each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load_data_file(path: Path | str, model: type[M], text: str | None = None,
                   check: Callable[[M, SourceInfo], list[str]] | None = None) -> M:
    """Parse ``path`` (or ``text`` standing in for it) and validate it as ``model``.

    ``check(model, info)`` may add cross-field problems; it returns them as ``file:line: message`` strings
    (``info.line_of(loc)`` gives the line of a field path)."""
    path = Path(path)
    try:
        data, info = read_yaml(path, text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataFileError([f"{path}:{mark.line + 1 if mark else 1}: YAML syntax error: "
                             f"{getattr(exc, 'problem', None) or exc}"]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError([f"{path}:1: cannot read the file: {exc}"]) from exc
    try:
        result = model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise DataFileError([f"{path}:{info.line_of(err['loc'])}: {'.'.join(map(str, err['loc'])) or '(top)'}: "
                             f"{err['msg']}" for err in exc.errors()]) from exc
    problems = check(result, info) if check is not None else []
    if problems:
        raise DataFileError(problems)
    return result
