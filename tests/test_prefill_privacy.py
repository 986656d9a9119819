"""agent.privacy: masking in text and in real log records."""
from __future__ import annotations

import io
import logging

from agent.privacy import MaskingFilter, mask
from tests.conftest_prefill import make_id, make_uscc


def test_mask_id_phone_uscc_and_card():
    ident, code = make_id("370102", "19900307", "123"), make_uscc("91370100MA3C4XY2")
    out = mask(f"身份证{ident}，手机13812345678，另一个 138 1234 5678，座机0531-88889999，代码{code}，卡6222020200001234567")
    assert ident not in out and f"3701{'*' * 10}{ident[-4:]}" in out
    assert "138****5678" in out and "138 **** 5678" in out
    assert "0531-****9999" in out
    assert mask("座机 0531 8888 9999") == "座机 0531 **** 9999"
    assert code not in out and code[:6] in out and code[-4:] in out
    assert "6222***********4567" in out
    assert mask("办理时限5个工作日，电话12345") == "办理时限5个工作日，电话12345"  # short numbers stay
    assert mask("370102900307123") == "3701*******7123"


def test_masking_filter_masks_message_args_and_exceptions():
    ident = make_id("370102", "19900307", "123")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    log = logging.getLogger("test.prefill.privacy")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        log.info("user said %s", f"我的身份证{ident}")
        log.warning("phone %s id %s", 13812345678, ident)
        try:
            raise ValueError(f"bad id {ident}")
        except ValueError:
            log.exception("failed for 13912345678")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert ident not in text and "13812345678" not in text and "13912345678" not in text
    assert text.count(f"3701{'*' * 10}") == 3
    assert "139****5678" in text or "139****" in text
