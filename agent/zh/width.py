"""Full-width (全角) characters to their ASCII forms."""
from __future__ import annotations

import unicodedata


def to_halfwidth(text: str) -> str:
    """Full-width digits, letters and punctuation (１２３, ＋, －) to ASCII."""
    return unicodedata.normalize("NFKC", text)


def to_halfwidth_in_place(text: str) -> str:
    """Like ``to_halfwidth`` char by char, so offsets stay those of the original text."""
    out = []
    for c in text:
        n = unicodedata.normalize("NFKC", c)
        out.append(n if len(n) == 1 else c)
    return "".join(out)
