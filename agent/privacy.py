"""Mask personal numbers before they reach a log: ID numbers, phones, USCCs, bank cards.

``mask("身份证370102199003071234")`` -> ``身份证3701**********1234``. Attach
``MaskingFilter`` to a handler (or logger) so every record is masked, including
its %-style arguments and exception text.
"""
from __future__ import annotations

import logging
import re

# Longest shapes first; boundaries keep a phone inside a longer number from matching alone.
_ID = re.compile(r"(?<![0-9A-Za-z])(\d{4})(\d{10})(\d{3}[\dXx])(?![0-9A-Za-z])|(?<![0-9A-Za-z])(\d{4})(\d{7})(\d{4})(?![0-9A-Za-z])")
_USCC = re.compile(r"(?<![0-9A-Za-z])([0-9A-Z]{2}\d{6})([0-9A-Z]{6})([0-9A-Z]{4})(?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{4})(\d{8,11})(\d{4})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])((?:\+?86[\s\-]?)?1[3-9]\d)([\s\-]?)(\d{4})([\s\-]?)(\d{4})(?![0-9A-Za-z])")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])(0\d{2,3}[\s\-]?)(\d{3,4})([\s\-]?\d{4})(?![0-9A-Za-z])")


def _stars(s: str) -> str:
    return "*" * len(s)


def mask(text: str) -> str:
    """``text`` with ID numbers, USCCs, bank cards and phone numbers partly replaced by ``*``."""
    if not text:
        return text
    text = _ID.sub(lambda m: (m.group(1) + _stars(m.group(2)) + m.group(3) if m.group(1)
                              else m.group(4) + _stars(m.group(5)) + m.group(6)), text)
    text = _USCC.sub(lambda m: m.group(1)[:6] + _stars(m.group(1)[6:] + m.group(2)) + m.group(3), text)
    text = _CARD.sub(lambda m: m.group(1) + _stars(m.group(2)) + m.group(3), text)
    text = _MOBILE.sub(lambda m: m.group(1) + m.group(2) + "****" + m.group(4) + m.group(5), text)
    text = _LANDLINE.sub(lambda m: m.group(1) + _stars(m.group(2)) + m.group(3), text)
    return text


class MaskingFilter(logging.Filter):
    """A logging filter that masks the formatted message of every record (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: still mask what is there
            message = f"{record.msg} {record.args}"
        record.msg = mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def install(logger: logging.Logger | None = None) -> MaskingFilter:
    """Add a ``MaskingFilter`` to every handler of ``logger`` (the root logger by default)."""
    logger = logger or logging.getLogger()
    flt = MaskingFilter()
    for handler in logger.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
