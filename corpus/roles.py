"""The role names a form field may declare (``FormField.role``), read from ``corpus/roles.yaml``.

The corpus owns the list because forms declare roles; the assistant's role words (``agent/data/roles.yaml``)
are checked against it, so the list is read here, below the agent."""
from __future__ import annotations

import functools
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corpus.datafile import load_data_file

ROLES_FILE = Path(__file__).parent / "roles.yaml"
ROLE_NAME_PATTERN = r"^[a-z][a-z_]*$"


class RoleList(BaseModel):
    """``roles``: role name -> what it means (for content staff)."""

    model_config = ConfigDict(extra="forbid")
    roles: dict[str, str] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _names_and_meanings(cls, roles: dict[str, str]) -> dict[str, str]:
        bad = [name for name in roles if not re.fullmatch(ROLE_NAME_PATTERN, str(name))]
        if bad:
            raise ValueError(f"role names are lower-case words joined by _: {', '.join(map(str, bad))}")
        blank = [name for name, meaning in roles.items() if not (meaning or "").strip()]
        if blank:
            raise ValueError(f"say what each role means: {', '.join(blank)}")
        return roles


def load_role_list(path: Path | str = ROLES_FILE, text: str | None = None) -> RoleList:
    """The role list, or ``DataFileError`` naming the file and line of each problem."""
    return load_data_file(path, RoleList, text)


@functools.cache
def known_roles(path: Path | str = ROLES_FILE) -> frozenset[str]:
    """The role names (read once per process and path)."""
    return frozenset(load_role_list(path).roles)
