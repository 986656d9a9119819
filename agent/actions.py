"""What is asked done to a service's object, and the words citizens say for it (``agent/data/actions.yaml``).

One vocabulary read by the router (telling a top hit from its neighbour: 铺子不开了 asks 注销, not 遗失补办) and by
the form step (an application's action picks among a matter's neighbours: agent.forms.actions)."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from corpus.datafile import load_data_file

DATA_PATH = Path(__file__).resolve().parent / "data" / "actions.yaml"
Word = Annotated[str, Field(pattern=r"^[\u4e00-\u9fa5]+$")]


class ActionWords(BaseModel):
    """agent/data/actions.yaml."""

    model_config = ConfigDict(extra="forbid")
    actions: dict[Word, list[Word]] = Field(min_length=1)  # title word -> what citizens say for it
    min_shared: int = Field(ge=2)


@functools.cache
def action_words() -> ActionWords:
    return load_data_file(DATA_PATH, ActionWords)
