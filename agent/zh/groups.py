"""A number written in groups (370112 1996 0208 5829, 133-9025-2278, 三七零六八三，幺九四六，…): which consecutive
groups make one number. Read left to right; at each group the longest run of groups that is a number wins."""
from __future__ import annotations

from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
_LONGEST = 18  # no personal number is longer (居民身份证号码, 统一社会信用代码)


def join_groups(groups: Sequence[str], value_of: Callable[[str], T | None],
                least: int = 2) -> list[tuple[int, int, T]]:
    """(first group, past the last group, value) for each run of ``least`` or more consecutive groups whose
    characters together are a value (``value_of`` says which); groups in no such run are left out."""
    out: list[tuple[int, int, T]] = []
    i = 0
    while i < len(groups):
        best: tuple[int, T] | None = None
        joined = ""
        for j in range(i, len(groups)):
            joined += groups[j]
            if len(joined) > _LONGEST:
                break
            if j + 1 - i >= least and (value := value_of(joined)) is not None:
                best = (j + 1, value)
        if best is None:
            i += 1
            continue
        out.append((i, *best))
        i = best[0]
    return out
