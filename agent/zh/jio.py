"""jionlp (pinyin, ID regions, administrative divisions), loaded once and quietly."""
from __future__ import annotations

import contextlib
import functools
import io
import threading

_LOCK = threading.Lock()


@functools.cache
def jionlp():
    """jionlp, imported once: on import it prints a banner to stdout, which would corrupt a CLI's JSON output
    (lazy: about 0.3 s with its tables, and most turns need none of it). Its pinyin tables load on first use and
    are not safe to load from two threads at once (the guard and the pinyin reader's warm-up): loaded here,
    under a lock."""
    with _LOCK, contextlib.redirect_stdout(io.StringIO()):
        import jionlp as jio
        jio.pinyin("中", formater="simple")
    return jio
