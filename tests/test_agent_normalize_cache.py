"""The Normalizer keeps the Messages of messages without personal data (each turn reads the session's earlier
messages again): the same Message as reading it anew, a copy for each caller, never one with personal data."""
from __future__ import annotations

from agent.normalize import Normalizer


class CountingFocus:
    """The Normalizer's focus step, counting how often a message is really read."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str) -> str:
        self.calls += 1
        return text


def test_a_message_is_read_once_and_each_caller_gets_its_own_copy():
    focus = CountingFocus()
    normalizer = Normalizer(focus=focus)
    first = normalizer.run("公积金怎么提取，要带什么材料")
    reads = focus.calls
    second = normalizer.run("公积金怎么提取，要带什么材料")
    assert focus.calls == reads  # kept, not read again
    assert second == first == Normalizer().run("公积金怎么提取，要带什么材料")
    second.tokens.append("改了")
    second.aspects.clear()
    assert normalizer.run("公积金怎么提取，要带什么材料") == first != second


def test_messages_with_personal_data_are_never_kept():
    focus = CountingFocus()
    normalizer = Normalizer(focus=focus)
    for text in ("我叫王丽，要办营业执照", "电话13912345678，身份证110101199003072311"):
        msg = normalizer.run(text)
        assert msg.has_personal_data
        reads = focus.calls
        normalizer.run(text)
        assert focus.calls > reads, text
    assert not normalizer._seen


def test_the_kept_messages_are_bounded():
    focus = CountingFocus()
    normalizer = Normalizer(focus=focus, cache_size=3)
    for text in ("社保卡丢了", "怎么领结婚证", "新生儿落户", "公积金提取"):
        normalizer.run(text)
    assert len(normalizer._seen) == 3
    reads = focus.calls
    normalizer.run("社保卡丢了")  # the oldest went first
    assert focus.calls > reads
