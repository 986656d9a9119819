"""The role names a form field may declare (``FormField.role``), read from ``corpus/roles.yaml``.

The corpus owns the list because forms declare roles; the assistant's role words (``agent/data/roles.yaml``)
are checked against it, so the list is read here, below the agent."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from corpus.datafile import load_data_file

ROLES_FILE = Path(__file__).parent / "roles.yaml"
ROLE_NAME_PATTERN = r"^[a-z][a-z_]*$"


RoleName = Annotated[str, Field(pattern=ROLE_NAME_PATTERN)]  # lower-case words joined by _
Meaning = Annotated[str, Field(pattern=r"\S")]


class RoleList(BaseModel):
    """``roles``: role name -> what it means (for content staff)."""

    model_config = ConfigDict(extra="forbid")
    roles: dict[RoleName, Meaning] = Field(min_length=1)


def load_role_list(path: Path | str = ROLES_FILE, text: str | None = None) -> RoleList:
    """The role list, or ``DataFileError`` naming the file and line of each problem."""
    return load_data_file(path, RoleList, text)


@functools.cache
def known_roles(path: Path | str = ROLES_FILE) -> frozenset[str]:
    """The role names (read once per process and path)."""
    return frozenset(load_role_list(path).roles)
