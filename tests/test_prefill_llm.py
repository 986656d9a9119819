"""LLM JSON extraction in FormFiller: merging rules with a fake chat model, and one real
run on the local Qwen2.5-Coder GGUF through llama.cpp."""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from agent.forms import FormFiller, json_schema_for, parse_json_object
from agent.llm import LLMRunner, RunnerChat
from corpus.schema import Form
from tests.conftest_prefill import break_check, make_id, newborn_form

TODAY = dt.date(2026, 11, 23)
MOM = make_id("370102", "19930512", "128")
MODEL = Path(__file__).resolve().parent.parent / "var/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def fake(*answers: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(content=a) for a in answers]))


def field(state, key):
    return next(f for f in state.fields if f.key == key)


class SlowModel(GenericFakeChatModel):
    """Streams one token every ``delay`` seconds and counts what it produced."""
    delay: float = 0.3
    produced: int = 0

    def _stream(self, *args, **kwargs):
        for chunk in super()._stream(*args, **kwargs):
            time.sleep(self.delay)
            self.produced += 1
            yield chunk


def budgeted(model, timeout_s: float) -> RunnerChat:
    """The model behind the agent's runner with the form budget, as the pipeline passes it."""
    return RunnerChat(LLMRunner(model, timeout_s=timeout_s), timeout_s=timeout_s, breaker=False)


class BrokenModel(GenericFakeChatModel):
    def _generate(self, *args, **kwargs):
        raise RuntimeError("model crashed")


def test_llm_fills_gaps_and_rule_checksums_win():
    _, form = newborn_form()
    other = make_id("370102", "19880101", "111")
    answer = ('```json\n{"applicant_name": "王丽", "mother_id_number": "%s", "bank_account": "6222020200001234567", '
              '"baby_gender": "女", "applicant_phone": null}\n```' % other)
    text = f"我叫王丽，孩子妈妈身份证{MOM}，闺女是在齐鲁医院生的，津贴打到工行卡6222020200001234567"
    state = FormFiller(llm=fake(answer)).fill(form, [text], today=TODAY)
    assert field(state, "mother_id_number").value == MOM  # valid checksum from the rules wins
    assert field(state, "mother_id_number").source == "conversation"
    acct = field(state, "bank_account")
    assert acct.value == "6222020200001234567" and acct.source == "llm"
    assert field(state, "birth_hospital").source == "conversation"  # LAC found the hospital
    assert field(state, "baby_gender").value == "女"
    assert field(state, "applicant_name").source == "conversation"


def test_llm_values_are_validated_and_must_come_from_the_conversation():
    _, form = newborn_form()
    bad = break_check(MOM)
    answer = ('{"mother_id_number": "%s", "baby_name": "李雷", "hukou_address": "济南市市中区经七路1号", '
              '"baby_gender": "不知道"}' % MOM)
    state = FormFiller(llm=fake(answer)).fill(form, [f"孩子妈妈身份证{bad}，孩子还没起名"], today=TODAY)
    # The rules' invalid value is kept; the LLM's "correct" ID was never said, so it is ignored.
    mid = field(state, "mother_id_number")
    assert mid.value == bad and not mid.valid
    assert field(state, "baby_name").value is None  # 李雷 is invented
    assert field(state, "hukou_address").value is None
    assert field(state, "baby_gender").value is None  # not an option


def test_llm_replaces_an_invalid_rule_value_with_a_valid_one_the_user_said():
    _, form = newborn_form()
    # The user gave two IDs for the mother; the later (invalid) one is what the rules took.
    bad = break_check(MOM)
    text = f"孩子妈妈身份证{MOM}，哦不对，孩子妈妈身份证{bad}"
    state = FormFiller(llm=fake('{"mother_id_number": "%s"}' % MOM)).fill(form, [text], today=TODAY)
    mid = field(state, "mother_id_number")
    assert (mid.value, mid.valid, mid.source) == (MOM, True, "llm")


def test_failing_slow_or_garbled_llm_never_breaks_the_fill(caplog):
    _, form = newborn_form()
    slow_answer = '{"baby_name": "张 小 宝", "hukou_follow": "随 父", ' + " ".join(['"x": 1,'] * 30) + ' "y": 2}'
    slow = SlowModel(messages=iter([AIMessage(content=slow_answer)]))
    for model in (BrokenModel(messages=iter([])), fake("抱歉，我无法回答"), slow):
        started = time.monotonic()
        state = FormFiller(llm=budgeted(model, 0.5)).fill(form, ["我叫王丽，电话13812345678"], today=TODAY)
        assert time.monotonic() - started < 1.8
        assert field(state, "applicant_name").value == "王丽"
        assert field(state, "applicant_phone").value == "13812345678"
        assert field(state, "baby_name").value is None
    assert "LLM form extraction ignored" in caplog.text
    assert "LLMUnavailable: LLM gave no answer within 0.5s" in caplog.text  # the runner's budget ran out
    # the abandoned call stops at its next token rather than running on
    time.sleep(1.0)
    stopped_at = slow.produced
    time.sleep(1.0)
    assert slow.produced == stopped_at < 30


def test_json_schema_and_parser():
    _, form = newborn_form()
    schema = json_schema_for(form.fields[:4])
    assert schema["properties"]["applicant_relation"]["enum"][:3] == ["父亲", "母亲", "其他监护人"]
    assert parse_json_object('好的：{"a": "1"} 以上') == {"a": "1"}
    with pytest.raises(ValueError):
        parse_json_object("没有")


@pytest.mark.llm
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not MODEL.exists(), reason=f"local LLM not assembled at {MODEL} (run `.venv/bin/daoban model ensure`)")
def test_real_local_llm_fills_a_field_the_rules_cannot():
    from langchain_community.chat_models import ChatLlamaCpp

    llm = ChatLlamaCpp(model_path=str(MODEL), n_threads=2, n_ctx=2048, temperature=0.0, max_tokens=200, verbose=False)
    form = Form.model_validate({"id": "llm-test-form", "title": "测试表", "fields": [
        {"key": "applicant_name", "label": "申请人姓名", "type": "text", "required": True},
        {"key": "applicant_phone", "label": "联系电话", "type": "phone", "required": True},
        {"key": "bank_account", "label": "收款银行卡号", "type": "text", "required": True},
    ]})
    text = "我叫王丽，补贴请打到我的工商银行卡，卡号是6222020200001234567"
    rules_only = FormFiller().fill(form, [text], today=TODAY)
    assert field(rules_only, "bank_account").value is None  # the rules do not read bank card numbers
    # generous budget: the 2-core test machine is shared, so a call can take minutes under load
    state = FormFiller(llm=budgeted(llm, 500)).fill(form, [text], today=TODAY)
    acct = field(state, "bank_account")
    assert acct.source == "llm" and acct.value.replace(" ", "") == "6222020200001234567"
    assert field(state, "applicant_name").value == "王丽"
    assert field(state, "applicant_phone").value is None  # not said; a guess would be dropped
    assert state.missing == ["applicant_phone"]


def test_works_through_the_agents_llm_runner():
    """The pipeline's LLMRunner (serialised calls, own time budget) is accepted like a chat model."""
    _, form = newborn_form()
    runner = LLMRunner(fake('{"bank_account": "6222020200001234567"}'), timeout_s=5)
    state = FormFiller(llm=runner).fill(form, ["我叫王丽，津贴打到工行卡6222020200001234567"], today=TODAY)
    acct = field(state, "bank_account")
    assert (acct.value, acct.source) == ("6222020200001234567", "llm")
    assert runner.stats["calls"] == 1


class RecordingModel(GenericFakeChatModel):
    """Answers like GenericFakeChatModel and keeps the user text of every prompt it got."""
    prompts: list = []

    def _stream(self, messages, *args, **kwargs):
        self.prompts.append(messages[-1].content)
        yield from super()._stream(messages, *args, **kwargs)


def test_llm_reads_only_what_is_new_and_nothing_without_values():
    _, form = newborn_form()
    llm = RecordingModel(messages=iter([AIMessage(content="{}")] * 5), prompts=[])
    filler = FormFiller(llm=llm)
    opened = filler.fill(form, ["我要办这个"], today=TODAY)
    assert llm.prompts == []                       # no value the rules could read and no digit: no LLM call
    texts = ["我要办这个", f"孩子妈妈身份证{MOM}，住在历下区"]
    state = filler.fill(form, texts, previous=opened, today=TODAY)
    assert len(llm.prompts) == 1 and texts[1] in llm.prompts[0] and texts[0] not in llm.prompts[0]
    assert field(state, "mother_id_number").value == MOM
    first_session = FormFiller(llm=RecordingModel(messages=iter([AIMessage(content="{}")]), prompts=[]))
    first_session.fill(form, ["我叫王丽", "电话13912345678"], today=TODAY)
    assert all(t in first_session.llm.prompts[0] for t in ("我叫王丽", "13912345678"))  # no draft yet: all of it
