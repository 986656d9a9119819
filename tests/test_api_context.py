"""An application across turns through the real API (one real uvicorn on the small test corpus, LLM backend
none): personal data given before the service is named is kept, said back masked, stored only encrypted, and
fills the form of the service named next; an aside keeps the form open."""
from __future__ import annotations

import pytest

from conftest_api import FORM_MATTER, api_server, id_number, new_session  # noqa: F401

pytestmark = pytest.mark.slow

MY_ID = id_number("37010219770214061")
MY_PHONE = "13573108846"


@pytest.fixture(scope="module")
def http(api_server):
    with api_server.client() as c:
        yield c


def _chat(http, message: str, session: tuple[str, dict]) -> dict:
    sid, auth = session
    r = http.post("/v1/chat", json={"message": message, "session_id": sid}, headers=auth)
    assert r.status_code == 200, r.text
    return r.json()


def test_data_before_the_service_is_kept_masked_and_fills_the_form_named_next(http, api_server):
    session = new_session(http)
    first = _chat(http, f"我叫韩素英，身份证{MY_ID}，电话{MY_PHONE}", session)
    assert first["route"] is None and first["form"] is None and first["intent"]["name"] == "apply"
    assert MY_ID not in first["answer"] and MY_PHONE not in first["answer"]
    assert MY_ID[:3] + "*" * 11 + MY_ID[-4:] in first["answer"] and "135****8846" in first["answer"]

    second = _chat(http, "身份证快到期了，想换个新的", session)
    assert second["route"]["id"] == FORM_MATTER and second["form"] is not None
    filled = {f["value"] for f in second["form"]["fields"] if f["value"]}
    assert {"韩素英", MY_ID, MY_PHONE} <= filled

    aside = _chat(http, "换证大概要多长时间？", session)
    assert aside["route"]["id"] == FORM_MATTER
    assert aside["form"] is not None and MY_ID in {f["value"] for f in aside["form"]["fields"]}
    assert "申请表仍为您保留" in aside["answer"]

    stored = api_server.all_text()
    assert session[0] in stored and MY_ID not in stored and MY_PHONE not in stored
    assert MY_ID not in api_server.log() and MY_PHONE not in api_server.log()


def test_a_clicked_option_goes_on_with_what_the_question_was_asked_for(http):
    """A button's title sent alone reads to the intent classifier like a wish to apply (on this corpus
    新生儿出生一件事 alone is apply); as the answer to a consult's which-service question it is that consult,
    and no form opens. Words of its own still count."""
    first = _chat(http, "出生了要办什么", new_session(http))
    assert first["clarify"] and first["clarify"]["kind"] == "route"
    for option in first["clarify"]["options"]:
        session = new_session(http)
        _chat(http, "出生了要办什么", session)
        picked = _chat(http, option["title"], session)
        assert picked["route"]["id"] == option["id"]
        assert picked["intent"]["name"] == "consult" and picked["form"] is None, option["title"]
    session = new_session(http)
    _chat(http, "出生了要办什么", session)
    applied = _chat(http, f"{first['clarify']['options'][0]['title']}，我要办", session)
    assert applied["intent"]["name"] == "apply" and applied["form"] is not None
