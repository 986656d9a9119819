"""The review of generated 相似问法 in the staff console, over real HTTP: staff key required, and each decision
written back to the region's cache file."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest_api import HOTLINE_KEY, STAFF_KEY, Server, base_env
from corpus.enrich import CACHE, DEPARTMENTS, load_cache

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parent.parent / "corpus" / "data" / "guangan"


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review")
    region = tmp / "corpus" / "guangan"
    (region / "catalog").mkdir(parents=True)
    shutil.copy(SRC / "region.yaml", region / "region.yaml")
    shutil.copy(SRC / DEPARTMENTS, region / DEPARTMENTS)
    docs = []
    for p in sorted((SRC / "catalog").glob("*.yaml"))[:3]:
        shutil.copy(p, region / "catalog" / p.name)
        docs.append(yaml.safe_load(p.read_text(encoding="utf-8")))
    entries = [{"id": d["id"], "title": d["title"], "keywords": [f"词{i}"], "questions": [f"问法{i}"]}
               for i, d in enumerate(docs)]
    (region / CACHE).write_text(yaml.safe_dump({"entries": entries}, allow_unicode=True), encoding="utf-8")
    # The review needs the corpus and the database, not the index: no index is built for this server.
    server = Server(env=base_env(tmp, tmp / "corpus"), log_path=tmp / "server.log").start(wait_ready=False)
    yield server, region, docs
    server.kill()


def test_review_routes_need_the_staff_key(review):
    server, _, docs = review
    with server.client() as http:
        assert http.get("/v1/admin/catalog-enrich").status_code == 401
        assert http.get("/v1/admin/catalog-enrich", headers={"X-API-Key": HOTLINE_KEY}).status_code == 403
        r = http.post(f"/v1/admin/catalog-enrich/{docs[0]['id']}", json={"action": "approve"},
                      headers={"X-API-Key": HOTLINE_KEY})
        assert r.status_code == 403
        page = http.get("/admin/catalog")
        assert page.status_code == 200 and "/static/catalog-review.js" in page.text


def test_approve_edit_reject_write_back_to_the_cache(review):
    server, region, docs = review
    staff = {"X-API-Key": STAFF_KEY}
    a, b, c = (d["id"] for d in docs)
    with server.client() as http:
        listed = http.get("/v1/admin/catalog-enrich", headers=staff).json()
        assert listed["counts"] == {"unreviewed": 3} and [e["doc_id"] for e in listed["entries"]] == [a, b, c]
        assert http.post(f"/v1/admin/catalog-enrich/{a}", json={"action": "approve"}, headers=staff).json()["status"] == "approved"
        r = http.post(f"/v1/admin/catalog-enrich/{b}", headers=staff,
                      json={"action": "edit", "questions": ["我想问的其实是这个", "我想问的其实是这个 "]})
        assert r.status_code == 200 and r.json()["questions"] == ["我想问的其实是这个"]
        assert http.post(f"/v1/admin/catalog-enrich/{c}", json={"action": "reject"}, headers=staff).status_code == 200
        assert http.post(f"/v1/admin/catalog-enrich/{b}", json={"action": "edit"}, headers=staff).status_code == 422
        assert http.post(f"/v1/admin/catalog-enrich/{a}", json={"action": "delete"}, headers=staff).status_code == 422
        assert http.post("/v1/admin/catalog-enrich/nope", json={"action": "approve"}, headers=staff).status_code == 404
        after = http.get("/v1/admin/catalog-enrich?status=all", headers=staff).json()
        assert after["counts"] == {"approved": 2, "rejected": 1}
    cache = load_cache(region / CACHE).by_id()
    assert cache[a].status == "approved" and cache[a].questions == ["问法0"]
    assert cache[b].status == "approved" and cache[b].questions == ["我想问的其实是这个"] and cache[b].keywords == ["词1"]
    assert cache[c].status == "rejected"
