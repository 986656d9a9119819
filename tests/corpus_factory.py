"""Small, valid corpora written to a temp folder, for tests to load and then break."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

MATTER = {
    "id": "test-permit",
    "title": "测试许可证核发",
    "aliases": ["测试证"],
    "region": "测试省",
    "audience": ["个人"],
    "department": "测试局",
    "matter_type": "行政许可",
    "situations": [{
        "id": "first",
        "title": "首次申请",
        "conditions": ["年满十八周岁"],
        "materials": [{"name": "居民身份证", "form": "原件", "exempt": True, "exempt_reason": "电子证照"}],
    }],
    "steps": ["提交申请", "审核", "发证"],
    "time_limit": {"legal_days": 20, "promised_days": 5},
    "fee": "不收费",
    "sample_questions": ["测试证怎么办", "测试证要带什么", "测试证多久能拿到", "测试证在哪办"],
    "source": {"name": "测试来源"},
    "updated": "2026-10-01",
}

SCENARIO = {
    "id": "test-event",
    "title": "测试一件事",
    "region": "测试省",
    "audience": ["个人"],
    "stage": "其他",
    "lead_department": "测试局",
    "summary": "把测试许可证核发和测试登记合并为一件事办理。",
    "members": [{"matter": "test-permit"}, {"matter": "test-record", "depends_on": ["test-permit"],
                                            "when": {"kind": ["b"]}}],
    "questions": [{"id": "kind", "text": "您是哪种情况？",
                   "options": [{"id": "a", "title": "甲"}, {"id": "b", "title": "乙"}]}],
    "materials": [{"name": "居民身份证", "exempt": True, "exempt_reason": "电子证照"}],
    "time_limit": {"promised_days": 5},
    "sample_questions": [f"测试一件事问法{i}" for i in range(8)],
    "form": {"id": "test-event-form", "title": "测试申请表", "fields": [
        {"key": "applicant_name", "label": "姓名", "type": "text", "required": True},
        {"key": "applicant_id_number", "label": "身份证号", "type": "id_number", "required": True},
        {"key": "applicant_phone", "label": "手机", "type": "phone", "required": True},
        {"key": "applicant_birth_date", "label": "出生日期", "type": "date", "sources": ["derived"],
         "derived_from": "applicant_id_number", "derive": "birth_date"},
    ]},
    "source": {"name": "测试来源"},
    "updated": "2026-10-01",
}


def write_doc(path: Path, doc: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def make_corpus(root: Path) -> Path:
    """A valid region 'test' with one scenario and two matters; returns the data root."""
    region = root / "test"
    write_doc(region / "region.yaml", {"name": "测试省", "code": "990000"})
    write_doc(region / "matters" / "test-permit.yaml", MATTER)
    record = copy.deepcopy(MATTER)
    record.update(id="test-record", title="测试登记", aliases=[],
                  sample_questions=["测试登记怎么办", "登记测试要什么", "测试登记几天", "测试登记地点"])
    write_doc(region / "matters" / "test-record.yaml", record)
    write_doc(region / "scenarios" / "test-event.yaml", SCENARIO)
    return root
