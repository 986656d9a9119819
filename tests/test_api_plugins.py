"""daoban plugged into other platforms, over real HTTP against uvicorn with real clients: the openai client and
LangChain's ChatOpenAI on /v1/chat/completions, Dify's external knowledge protocol on /retrieval (httpx), and the
LangChain retriever over the same real index."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import openai
import pytest

from conftest_api import (HOTLINE_KEY, INTEGRATION_KEY, SCENARIO, STAFF_KEY, Server, base_env, build_test_index,
                          id_number, make_corpus)

pytestmark = pytest.mark.slow

OTHER_KEY = "test-integration-key-2"  # a second platform
QUESTION = "住房公积金怎么提取"
WITHDRAWAL = "housing-fund-withdrawal"
SCENARIO_TITLE = "新生儿出生一件事"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The newborn 一件事 with its matters and the real housing-fund guides; two integration keys."""
    tmp = tmp_path_factory.mktemp("plugins")
    corpus_root = make_corpus(tmp / "corpus", extra_matters="housing-fund-*")
    env = base_env(tmp, corpus_root, DAOBAN_API__API_KEYS=json.dumps(
        {HOTLINE_KEY: "hotline", STAFF_KEY: "staff", INTEGRATION_KEY: "integration", OTHER_KEY: "integration"}))
    build_test_index(env)
    srv = Server(env=env, log_path=tmp / "server.log").start()
    yield srv
    srv.kill()


def client(server: Server, key: str = INTEGRATION_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=120)


def ask(server: Server, text: str, key: str = INTEGRATION_KEY, **kw) -> str:
    messages = kw.pop("messages", None) or [{"role": "user", "content": text}]
    r = client(server, key).chat.completions.create(model="daoban", messages=messages, **kw)
    return r.choices[0].message.content


# -- OpenAI-compatible chat ------------------------------------------------------------------------------------

def test_the_openai_client_gets_a_cited_answer(server):
    r = client(server).chat.completions.create(
        model="any-model-name", messages=[{"role": "system", "content": "你是助手"},
                                          {"role": "user", "content": QUESTION}],
        temperature=0.3, top_p=0.9, extra_body={"some_platform_field": {"x": 1}})  # unknown fields are ignored
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-") and r.model == "any-model-name"
    choice = r.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    text = choice.message.content
    body, _, notes = text.partition("\n\n[^1]: ")
    assert "[^1]" in body and "住房公积金提取" in body and "所需材料" in body
    first = "[^1]: " + notes.splitlines()[0]
    assert first.startswith("[^1]: 住房公积金提取 — ") and f"{server.url}/guide/{WITHDRAWAL}" in first
    # every marker in the text has its footnote, and no footnote is left without a marker
    marks = {m for m in range(1, 20) if f"[^{m}]" in body}
    assert marks == {m for m in range(1, 20) if f"\n[^{m}]: " in "\n" + text}
    assert r.usage.completion_tokens == len(text) and r.usage.total_tokens == r.usage.prompt_tokens + len(text)


def test_the_streamed_answer_is_the_non_streamed_one(server):
    whole = ask(server, QUESTION)
    stream = client(server).chat.completions.create(model="m", messages=[{"role": "user", "content": QUESTION}],
                                                    stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.model == "m" for c in chunks)
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in with_choices] == [None] * (len(with_choices) - 1) + ["stop"]
    assert len(with_choices) > 3  # streamed in pieces, not in one block
    assert "".join(c.choices[0].delta.content or "" for c in with_choices) == whole
    usage = chunks[-1]
    assert usage.choices == [] and usage.usage.completion_tokens == len(whole)
    # the wire format itself: data lines, ended by [DONE]
    with httpx.stream("POST", server.url + "/v1/chat/completions", timeout=120,
                      headers={"Authorization": f"Bearer {INTEGRATION_KEY}"},
                      json={"model": "m", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    assert json.loads(lines[-2][6:])["choices"][0]["finish_reason"] == "stop"


def test_a_user_continues_their_conversation_and_only_with_their_key(server):
    first = ask(server, "孩子出生了要上户口", user="wx-openid-1")
    assert SCENARIO_TITLE in first
    follow = ask(server, "我要办", user="wx-openid-1")
    assert "申请表" in follow and SCENARIO_TITLE in follow  # 我要办 read in this user's conversation
    # the same user string under another platform's key is another conversation: nothing to apply for there
    stranger = ask(server, "我要办", key=OTHER_KEY, user="wx-openid-1")
    assert SCENARIO_TITLE not in stranger and "申请表" not in stranger
    # and so is another user of the same key (sent as the X-Daoban-User header this time)
    other_user = ask(server, "我要办", extra_headers={"X-Daoban-User": "wx-openid-2"})
    assert SCENARIO_TITLE not in other_user


def test_without_user_the_history_is_replayed_and_nothing_stays(server):
    alone = ask(server, "我要办")
    assert SCENARIO_TITLE not in alone
    history = [{"role": "user", "content": "孩子出生了要上户口"}, {"role": "assistant", "content": "……"},
               {"role": "user", "content": [{"type": "text", "text": "我要办"}]}]
    replayed = ask(server, "", messages=history)
    assert "申请表" in replayed and SCENARIO_TITLE in replayed
    # the same as the same conversation held in a session
    ask(server, "孩子出生了要上户口", user="replay-check")
    assert replayed == ask(server, "我要办", user="replay-check")
    # the transient sessions were erased after answering: no state, no readable text
    db = sqlite3.connect(Path(server.env["DAOBAN_DATA_DIR"]) / "daoban.sqlite3")
    rows = db.execute("select id, state_enc, erased_at from sessions where channel='integration' "
                      "and id not like 'int-%'").fetchall()
    assert rows and all(state is None and erased for _, state, erased in rows)
    texts = db.execute("select m.text_enc from messages m join sessions s on s.id = m.session_id "
                       "where s.channel='integration' and s.id not like 'int-%'").fetchall()
    assert texts and all(t == "" for (t,) in texts)


def test_personal_data_in_integration_sessions_is_protected(server):
    pid = id_number("37010219900307001")
    ask(server, f"孩子出生了要上户口，我的身份证号{pid}，电话13805319876", user="wx-openid-pii")
    raw = b"".join(p.read_bytes() for p in Path(server.env["DAOBAN_DATA_DIR"]).glob("daoban.sqlite3*"))
    assert pid.encode() not in raw and b"13805319876" not in raw
    assert pid not in server.log() and "13805319876" not in server.log()


def test_an_idle_integration_session_expires_and_its_data_is_erased(server):
    import datetime as dt

    ask(server, "孩子出生了要上户口", user="wx-openid-idle")
    db = sqlite3.connect(Path(server.env["DAOBAN_DATA_DIR"]) / "daoban.sqlite3")
    sid = db.execute("select id from sessions where id like 'int-%' order by created_at desc limit 1").fetchone()[0]
    assert db.execute("select count(*) from messages where session_id=? and text_enc != ''", (sid,)).fetchone()[0] == 2
    idle = dt.datetime.utcnow() - dt.timedelta(minutes=60 + 1)  # api.session_idle_minutes defaults to 60
    with db:
        db.execute("update sessions set updated_at=? where id=?", (idle.isoformat(sep=" "), sid))
    after = ask(server, "我要办", user="wx-openid-idle")
    assert SCENARIO_TITLE not in after  # the conversation did not outlive its expiry
    texts = [t for (t,) in db.execute("select text_enc from messages where session_id=? order by id", (sid,))]
    assert texts[:2] == ["", ""] and all(texts[2:])  # the expired turn's text erased, the new one kept encrypted


def test_a_user_string_never_reaches_a_citizen_session(server):
    with httpx.Client(base_url=server.url, timeout=120) as http:
        r = http.post("/v1/chat", json={"message": "孩子出生了要上户口"})
        sid, token = r.json()["session_id"], r.headers["x-session-token"]
        ask(server, "我要办", user=sid)
        ask(server, "我要办", extra_headers={"X-Daoban-User": sid})
        view = http.get(f"/v1/sessions/{sid}", headers={"X-Session-Token": token}).json()
        # nor does the integration key open anything of the citizens' or the consoles'
        as_console_key = {"X-API-Key": INTEGRATION_KEY}
        assert http.get(f"/v1/sessions/{sid}", headers=as_console_key).status_code == 403
        assert http.get("/v1/hotline/ping", headers=as_console_key).status_code == 403
        assert http.get("/v1/admin/documents", headers=as_console_key).status_code == 403
    assert len(view["messages"]) == 2 and view["forms"] == []  # untouched: no turn and no form landed there


def test_keys_and_bodies_get_openai_error_objects(server):
    with pytest.raises(openai.AuthenticationError) as wrong:
        ask(server, QUESTION, key="not-a-key")
    assert wrong.value.status_code == 401 and wrong.value.body["code"] == "invalid_api_key"
    for key in (HOTLINE_KEY, STAFF_KEY):  # the consoles' keys are not integration keys
        with pytest.raises(openai.PermissionDeniedError) as denied:
            ask(server, QUESTION, key=key)
        assert denied.value.status_code == 403 and denied.value.body["type"] == "permission_error"
    url = server.url + "/v1/chat/completions"
    auth = {"Authorization": f"Bearer {INTEGRATION_KEY}"}
    cases = [
        ({}, {"model": "m", "messages": [{"role": "user", "content": "你好"}]}, 401),
        ({"Authorization": "Basic abc"}, {"model": "m", "messages": [{"role": "user", "content": "你好"}]}, 401),
        (auth, {"messages": [{"role": "user", "content": "你好"}]}, 400),
        (auth, {"model": "m", "messages": []}, 400),
        (auth, {"model": "m", "messages": [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "x"}]},
         400),
        (auth, {"model": "m", "messages": [{"role": "wizard", "content": "你好"}]}, 400),
        (auth, {"model": "m", "n": 2, "messages": [{"role": "user", "content": "你好"}]}, 400),
        (auth, {"model": "m", "messages": [{"role": "user", "content": "长" * 70_000}]}, 413),
    ]
    for headers, body, status in cases:
        r = httpx.post(url, json=body, headers=headers, timeout=60)
        assert r.status_code == status, (body, r.text[:300])
        error = r.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"] and error["type"]
    bad_json = httpx.post(url, content=b"{not json", headers={**auth, "content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error"]["type"] == "invalid_request_error"


def test_langchain_chat_openai_gets_a_cited_answer(server):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=server.url + "/v1", api_key=INTEGRATION_KEY, model="daoban", max_retries=0, timeout=120)
    answer = llm.invoke(QUESTION).content
    assert "[^1]" in answer and "[^1]: 住房公积金提取" in answer
    assert "".join(chunk.content for chunk in llm.stream(QUESTION)) == answer


# -- Dify external knowledge API -------------------------------------------------------------------------------

def retrieve(server: Server, body: dict, key: str | None = INTEGRATION_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(server.url + "/retrieval", json=body, headers=headers, timeout=120)


def body(query: str = "公积金怎么提取", knowledge_id: str = "山东省", top_k: int = 3, threshold: float = 0.0, **kw):
    return {"knowledge_id": knowledge_id, "query": query,
            "retrieval_setting": {"top_k": top_k, "score_threshold": threshold}, **kw}


def test_dify_retrieval_returns_scored_records(server):
    r = retrieve(server, body())
    assert r.status_code == 200, r.text
    records = r.json()["records"]
    assert 1 <= len(records) <= 3
    top = records[0]
    assert set(top) == {"content", "score", "title", "metadata"}
    assert top["title"] == "住房公积金提取" and top["metadata"]["doc_id"] == WITHDRAWAL
    assert "公积金" in top["content"] and top["metadata"]["url"] == f"{server.url}/guide/{WITHDRAWAL}"
    scores = [x["score"] for x in records]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    # the corpus folder names the same knowledge base
    assert retrieve(server, body(knowledge_id="shandong")).json() == r.json()
    # score_threshold keeps exactly the records at or above it
    cut = (scores[0] + scores[-1]) / 2 if len(scores) > 1 else scores[0]
    kept = retrieve(server, body(threshold=cut)).json()["records"]
    assert [x["score"] for x in kept] == [s for s in scores if s >= cut]


def test_dify_metadata_condition_filters(server):
    scenario_only = body(query="孩子出生了要办什么", top_k=5, metadata_condition={
        "logical_operator": "and", "conditions": [{"name": ["kind"], "comparison_operator": "is", "value": "scenario"}]})
    records = retrieve(server, scenario_only).json()["records"]
    assert records and all(x["metadata"]["kind"] == "scenario" for x in records)
    assert records[0]["metadata"]["doc_id"] == SCENARIO
    not_withdrawal = body(top_k=5, metadata_condition={"conditions": [
        {"name": ["doc_id"], "comparison_operator": "not in", "value": [WITHDRAWAL]}]})
    records = retrieve(server, not_withdrawal).json()["records"]
    assert records and WITHDRAWAL not in {x["metadata"]["doc_id"] for x in records}


def test_dify_errors_carry_difys_codes(server):
    def error(r, status, code):
        assert r.status_code == status and r.json()["error_code"] == code and r.json()["error_msg"], r.text

    error(retrieve(server, body(), key=None), 403, 1001)
    error(httpx.post(server.url + "/retrieval", json=body(), headers={"Authorization": INTEGRATION_KEY}), 403, 1001)
    error(retrieve(server, body(), key="wrong-key"), 403, 1002)
    error(retrieve(server, body(), key=HOTLINE_KEY), 403, 1002)
    error(retrieve(server, body(knowledge_id="no-such-region")), 404, 2001)
    error(retrieve(server, {"knowledge_id": "山东省", "query": "x"}), 422, 422)
    error(retrieve(server, body(top_k=0)), 422, 422)


# -- LangChain retriever ---------------------------------------------------------------------------------------

def test_langchain_retriever_finds_the_right_guide_first(server):
    from daoban.integrations.langchain import DaobanRetriever
    from daoban.settings import load_settings

    settings = load_settings().model_copy(update={"data_dir": Path(server.env["DAOBAN_DATA_DIR"]),
                                                  "corpus_dir": Path(server.env["DAOBAN_CORPUS_DIR"])})
    retriever = DaobanRetriever(settings=settings, k=3, region="山东省")
    docs = retriever.invoke("公积金怎么提取")
    assert 1 <= len(docs) <= 3
    top = docs[0]
    assert top.metadata["doc_id"] == WITHDRAWAL and top.metadata["title"] == "住房公积金提取"
    assert {"doc_id", "title", "section", "score", "kind"} <= set(top.metadata) and top.page_content
    assert [d.metadata["score"] for d in docs] == sorted((d.metadata["score"] for d in docs), reverse=True)
    # built over an existing retriever, with a threshold: only strong matches
    strict = DaobanRetriever(retriever=retriever.retriever, k=5, score_threshold=0.9).invoke("公积金怎么提取")
    assert all(d.metadata["score"] >= 0.9 for d in strict) and strict[0].metadata["doc_id"] == WITHDRAWAL
    # another region's documents only (the test corpus has one 广安区 catalogue matter, no housing fund guide)
    other = DaobanRetriever(retriever=retriever.retriever, k=3, region="四川省").invoke("公积金怎么提取")
    assert all(d.metadata["region"].startswith("四川省") and d.metadata["doc_id"] != WITHDRAWAL for d in other)


def test_guessing_keys_is_rate_limited_and_real_keys_still_work(server):
    """Last in this module: the wrong-key budget of this client address is spent for a minute afterwards."""
    url = server.url + "/v1/chat/completions"
    statuses = [httpx.post(url, json={"model": "m", "messages": [{"role": "user", "content": "你好"}]},
                           headers={"Authorization": f"Bearer guess-{i}"}, timeout=60) for i in range(12)]
    assert statuses[0].status_code == 401 and statuses[-1].status_code == 429
    assert statuses[-1].json()["error"]["type"] == "rate_limit_error" and statuses[-1].headers["retry-after"]
    assert retrieve(server, body(), key="guess-dify").json()["error_code"] == 429
    assert "[^1]" in ask(server, QUESTION)  # a valid key is not held back by others' guesses


def test_docs_offer_both_ways_of_sending_a_key(server):
    """/docs shows an Authorize button per security scheme: the console key and the integration Bearer key."""
    spec = httpx.get(server.url + "/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIKey"] == {**schemes["APIKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["BearerKey"]["type"] == "http" and schemes["BearerKey"]["scheme"] == "bearer"
    paths = spec["paths"]
    assert paths["/v1/hotline/assist"]["post"]["security"] == [{"APIKey": []}]
    assert paths["/v1/admin/overview"]["get"]["security"] == [{"APIKey": []}]
    for path in ("/v1/chat/completions", "/retrieval"):
        assert paths[path]["post"]["security"] == [{"BearerKey": []}]
