"""The review of the guides' blind-written 相似问法 (<region>/phrasings.yaml) in the staff console, over real HTTP:
each decision is written back to the region's file, and the reloaded corpus gives the guide what was approved."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest_api import CATALOG_MATTER, FORM_MATTER, GENERIC_MATTER, HOTLINE_KEY, SCENARIO, STAFF_KEY, Server, \
    base_env, make_corpus
from test_pages_browser import SHOTS, WAIT, _login, browser, page  # noqa: F401
from corpus.enrich import load_cache
from corpus.loader import load_corpus
from corpus.phrasings import PHRASINGS

pytestmark = pytest.mark.slow

STAFF = {"X-API-Key": STAFF_KEY}
HEADER = "# 盲写的问法，只用于检索（测试用的文件头）\n"


def _entries() -> list[dict]:
    return [
        {"id": SCENARIO, "title": "新生儿出生一件事", "questions": ["家里刚添了个小子，上户口报医保要跑几趟"]},
        {"id": FORM_MATTER, "title": "居民身份证换领、补领", "questions": ["身份正丢了咋补", "身份证过期了去哪换"]},
        # written for an older title: stale until a reviewer looks at it again
        {"id": GENERIC_MATTER, "title": "燃气户名变更", "questions": ["房子买了煤气户名怎么改成我的"]},
        {"id": "no-such-guide", "title": "没有这个指南", "questions": ["不会出现在列表里"]},
    ]


def _serve(tmp: Path) -> tuple[Server, Path, Path]:
    """A server on a small corpus whose shandong region has a phrasings file; no index (the review needs none)."""
    root = make_corpus(tmp / "corpus")
    path = root / "shandong" / PHRASINGS
    path.write_text(HEADER + yaml.safe_dump({"entries": _entries()}, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return Server(env=base_env(tmp, root), log_path=tmp / "server.log").start(wait_ready=False), root, path


@pytest.fixture(scope="module")
def phrasings(tmp_path_factory):
    server, root, path = _serve(tmp_path_factory.mktemp("phrasings"))
    yield server, root, path
    server.kill()


def _listed(http, status: str = "all") -> dict:
    r = http.get(f"/v1/admin/phrasings?status={status}", headers=STAFF)
    assert r.status_code == 200, r.text
    return r.json()


def test_routes_need_the_staff_key(phrasings):
    server, _, _ = phrasings
    with server.client() as http:
        assert http.get("/v1/admin/phrasings").status_code == 401
        assert http.get("/v1/admin/phrasings", headers={"X-API-Key": HOTLINE_KEY}).status_code == 403
        r = http.post(f"/v1/admin/phrasings/{SCENARIO}", json={"action": "approve"}, headers={"X-API-Key": HOTLINE_KEY})
        assert r.status_code == 403


def test_the_list_shows_each_guide_with_its_status_and_stale_title(phrasings):
    server, root, _ = phrasings
    with server.client() as http:
        page = _listed(http, "unreviewed")
    corpus = load_corpus(root)
    assert page["counts"] == {"unreviewed": 3} and page["parts"] == ["questions"]
    assert page["documents"] == len(corpus.scenarios) + len(corpus.matters)
    rows = {e["doc_id"]: e for e in page["entries"]}
    assert list(rows) == [SCENARIO, FORM_MATTER, GENERIC_MATTER]  # the unknown guide is not listed
    assert rows[SCENARIO]["kind"] == "scenario" and rows[SCENARIO]["department"] == "县级卫生健康部门"
    assert rows[FORM_MATTER]["kind"] == "matter" and rows[FORM_MATTER]["link"] == f"/guide/{FORM_MATTER}"
    assert rows[GENERIC_MATTER]["title"] == "燃气过户（居民）" and rows[GENERIC_MATTER]["stale"] is True
    assert not rows[FORM_MATTER]["stale"] and rows[FORM_MATTER]["questions"] == ["身份正丢了咋补", "身份证过期了去哪换"]
    assert all(e["keywords"] == [] and e["retrieval_questions"] == [] for e in rows.values())  # unreviewed: off


def test_decisions_are_written_back_and_the_corpus_reloads(phrasings):
    server, root, path = phrasings
    with server.client() as http:
        r = http.post(f"/v1/admin/phrasings/{FORM_MATTER}", json={"action": "approve"}, headers=STAFF)
        assert r.status_code == 200 and r.json()["status"] == "approved"
        assert http.post(f"/v1/admin/phrasings/{SCENARIO}", json={"action": "reject"}, headers=STAFF).status_code == 200
        # editing a stale entry approves it for the current title, each question once
        r = http.post(f"/v1/admin/phrasings/{GENERIC_MATTER}", headers=STAFF,
                      json={"action": "edit", "questions": [" 买的二手房燃气怎么过户 ", "买的二手房燃气怎么过户"]})
        assert r.status_code == 200 and r.json()["questions"] == ["买的二手房燃气怎么过户"]
        rows = {e["doc_id"]: e for e in _listed(http)["entries"]}
    assert rows[FORM_MATTER]["retrieval_questions"] == ["身份正丢了咋补", "身份证过期了去哪换"]
    assert rows[SCENARIO]["status"] == "rejected" and rows[SCENARIO]["retrieval_questions"] == []
    assert rows[GENERIC_MATTER]["stale"] is False
    assert rows[GENERIC_MATTER]["retrieval_questions"] == ["买的二手房燃气怎么过户"]

    cache = load_cache(path).by_id()
    assert cache[GENERIC_MATTER].title == "燃气过户（居民）" and cache[GENERIC_MATTER].status == "approved"
    assert cache["no-such-guide"].status == "unreviewed"  # entries the review did not touch stay as written
    assert path.read_text(encoding="utf-8").startswith(HEADER)  # the file keeps its own header
    corpus = load_corpus(root)
    assert corpus.matters[GENERIC_MATTER].phrasings == ["买的二手房燃气怎么过户"]
    assert corpus.scenarios[SCENARIO].phrasings == []


def test_bad_requests_say_what_is_wrong(phrasings):
    server, _, _ = phrasings
    with server.client() as http:
        r = http.post("/v1/admin/phrasings/no-such-guide", json={"action": "approve"}, headers=STAFF)
        assert r.status_code == 404 and r.json()["code"] == "guide_not_found" and "找不到办事指南" in r.json()["message"]
        # a catalogue matter is reviewed on its own route, not as a guide
        r = http.post(f"/v1/admin/phrasings/{CATALOG_MATTER}", json={"action": "approve"}, headers=STAFF)
        assert r.status_code == 404 and r.json()["code"] == "guide_not_found"
        r = http.post("/v1/admin/phrasings/newborn-birth", json={"action": "edit"}, headers=STAFF)
        assert r.status_code == 422 and r.json()["code"] == "nothing_to_edit" and "相似问法" in r.json()["message"]
        r = http.post(f"/v1/admin/phrasings/{FORM_MATTER}", json={"action": "edit", "keywords": ["词"]}, headers=STAFF)
        assert r.status_code == 422  # guides' phrasings have no keywords to review


def test_a_guide_without_an_entry_and_a_broken_file(phrasings):
    server, root, path = phrasings
    kept = path.read_text(encoding="utf-8")
    other = next(p.stem for p in sorted((root / "shandong" / "matters").glob("*.yaml"))
                 if p.stem not in (FORM_MATTER, GENERIC_MATTER))
    try:
        with server.client() as http:
            r = http.post(f"/v1/admin/phrasings/{other}", json={"action": "approve"}, headers=STAFF)
            assert r.status_code == 404 and r.json()["code"] == "entry_not_found"
            path.write_text("entries:\n- id: gas-transfer\n  title: 燃气过户（居民）\n  questions: ['']\n", encoding="utf-8")
            for r in (http.get("/v1/admin/phrasings", headers=STAFF),
                      http.post(f"/v1/admin/phrasings/{GENERIC_MATTER}", json={"action": "reject"}, headers=STAFF)):
                assert r.status_code == 500 and r.json()["code"] == "phrasings_file_broken"
                assert r.json()["message"].startswith("相似问法文件有误：") and f"{PHRASINGS}:4" in r.json()["message"]
        assert "questions: ['']" in path.read_text(encoding="utf-8")  # nothing was written over it
    finally:
        path.write_text(kept, encoding="utf-8")


@pytest.mark.browser
def test_staff_review_guides_and_catalogue_on_one_page(tmp_path, page):
    server, root, path = _serve(tmp_path)
    try:
        page.goto(server.url + "/admin/catalog#phrasings")
        _login(page, STAFF_KEY)
        entries = page.locator("#entries .entry")
        entries.first.wait_for(timeout=WAIT)
        assert page.locator("#set").input_value() == "phrasings" and entries.count() == 3
        assert page.get_by_label("口语关键词（每行一个）").count() == 0  # guides' phrasings have questions only
        gas = entries.filter(has_text="燃气过户（居民）")
        assert "指南标题已变" in gas.inner_text()
        gas.get_by_label("相似问法（每行一句）").fill("买的二手房燃气怎么过户\n燃气户主换成我")
        gas.get_by_role("button", name="修改并通过").click()
        page.wait_for_function("() => document.querySelectorAll('#entries .entry').length === 2", timeout=WAIT)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "admin-phrasings.png"), full_page=True)
        assert load_cache(path).by_id()[GENERIC_MATTER].questions == ["买的二手房燃气怎么过户", "燃气户主换成我"]
        # the same page and script review the catalogue's generated words
        page.locator("#set").select_option("catalog")
        page.wait_for_function("() => document.getElementById('counts').textContent.includes('目录事项')", timeout=WAIT)
        page.locator("#status").select_option("all")
        page.wait_for_function("() => document.querySelectorAll('#entries .entry').length === 1", timeout=WAIT)
        assert page.get_by_label("口语关键词（每行一个）").input_value()  # the catalogue's keywords are shown
        page.screenshot(path=str(SHOTS / "admin-catalog-review.png"), full_page=True)
    finally:
        server.kill()
