"""Which of a matter's neighbours an application means, by what it asks done (``agent/data/actions.yaml``, shared with the router):
幼儿园让查验预防接种证 is 入托入学预防接种证查验, not 预防接种证办理; 领养老金的那个认证 is 社会保险待遇领取资格认证, not
the 待遇申领 whose alias it also says; 身份证要换成十年的 is 换领, not 首次申领. Retrieval ranks the shared object
words; the action word tells the neighbours apart."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent.actions import ActionWords, action_words

if TYPE_CHECKING:
    from index.types import Hit

_PUNCT = re.compile(r"[^\u4e00-\u9fa5A-Za-z0-9]")


def _shares_object(a: str, b: str, n: int) -> bool:
    """Some run of ``n`` characters is in both titles."""
    a, b = _PUNCT.sub("", a), _PUNCT.sub("", b)
    return any(a[i:i + n] in b for i in range(len(a) - n + 1))


class ActionRoute:
    """The neighbour of a route that holds the action an application says, if the route's title holds none."""

    def __init__(self, words: ActionWords | None = None, depth: int = 5):
        self.words = words or action_words()
        self.depth = depth  # how far down the hits a neighbour may be

    def said(self, text: str) -> list[str]:
        """The title words of the actions ``text`` says."""
        return [title_word for title_word, said in self.words.actions.items() if any(w in text for w in said)]

    def neighbour(self, title: str, text: str, hits: list["Hit"]) -> "Hit | None":
        said = self.said(text)
        if not said or any(w in title for w in said):
            return None
        for h in hits[:self.depth]:
            if h.confident and h.kind in ("matter", "scenario") and h.title != title \
                    and any(w in h.title for w in said) and _shares_object(title, h.title, self.words.min_shared):
                return h
        return None
