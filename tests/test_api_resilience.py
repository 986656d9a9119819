"""A submitted form survives the server being killed; citizens are rate-limited per client."""
from __future__ import annotations

import signal

import pytest

from api.crypto import Vault, load_key
from conftest_api import SCENARIO, Server, base_env, id_number, make_corpus

pytestmark = pytest.mark.slow
FORM = f"{SCENARIO}-form"


def test_a_submitted_form_survives_sigkill(tmp_path):
    corpus_root = make_corpus(tmp_path / "corpus")
    env = base_env(tmp_path, corpus_root)
    server = Server(env=env, log_path=tmp_path / "server.log").start(wait_ready=False)
    fields = {"applicant_name": "王强", "applicant_id_number": id_number("37020319850612331"),
              "applicant_phone": "13687654321", "applicant_relation": "父亲", "baby_name": "王小满",
              "baby_gender": "女", "baby_birth_date": "2026-11-10", "birth_hospital": "青岛市妇女儿童医院",
              "mother_name": "赵敏", "mother_id_number": id_number("37020319880101002"), "hukou_follow": "随父",
              "hukou_address": "山东省青岛市市南区香港中路10号"}
    try:
        with server.client() as http:
            started = http.post("/v1/sessions", json={}).json()
            r = http.post(f"/v1/forms/{FORM}/submit", json={"session_id": started["session_id"], "fields": fields},
                          headers={"X-Session-Token": started["session_token"]})
            assert r.status_code == 200, r.text
            receipt = r.json()
        server.kill(signal.SIGKILL)  # no shutdown hook, no flush: only what was committed survives
        assert server.proc.returncode == -signal.SIGKILL
        server.start(wait_ready=False)
        with server.client() as http:
            status = http.get(f"/v1/submissions/{receipt['receipt_no']}")
            assert status.status_code == 200
            assert status.json() == {**{k: receipt[k] if k != "submitted_at" else status.json()[k]
                                        for k in ("receipt_no", "status", "submitted_at", "scenario_title",
                                                  "departments", "promised_days")},
                                     "review_status": receipt["review"]["status"],
                                     "corrections": [i["label"] for i in receipt["review"]["items"]
                                                     if i["severity"] == "fix"]}
        # the agent's StatusLookup over the same database finds it too, and the values decrypt
        from api.db import SubmissionRow
        from api.runtime import Runtime
        from daoban.settings import load_settings

        settings = load_settings().model_copy(update={"data_dir": tmp_path / "data", "corpus_dir": corpus_root})
        rt = Runtime(settings)
        found = rt.status_lookup.lookup(receipt["receipt_no"].lower())
        assert found is not None and found.receipt_no == receipt["receipt_no"] and found.status == "已受理"
        with rt.db() as s:
            row = s.get(SubmissionRow, receipt["receipt_no"])
            assert Vault(load_key(settings)).decrypt(row.values_enc).count(fields["applicant_id_number"]) == 1
        rt.close()
    finally:
        server.kill()


def test_citizen_endpoints_are_rate_limited_per_client(tmp_path):
    corpus_root = make_corpus(tmp_path / "corpus")
    env = base_env(tmp_path, corpus_root, DAOBAN_API__RATE_LIMIT_PER_MINUTE="3")
    server = Server(env=env, log_path=tmp_path / "server.log").start(wait_ready=False)
    try:
        with server.client() as http:
            codes = [http.get("/v1/scenarios").status_code for _ in range(3)]
            assert codes == [200, 200, 200]
            r = http.post("/v1/feedback", json={"session_id": "x", "thumbs": "up"})
            assert r.status_code == 429 and r.json()["code"] == "rate_limited"
            assert 1 <= int(r.headers["Retry-After"]) <= 60
            assert http.get("/healthz").status_code == 200  # health checks are never limited
            assert http.get("/v1/admin/overview").status_code == 401  # staff endpoints: keys, not limits
    finally:
        server.kill()
