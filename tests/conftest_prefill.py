"""Helpers for the prefill tests: valid ID numbers and USCCs built from the standards,
computed here independently of agent.forms.validators so a wrong checksum there fails a test."""
from __future__ import annotations

from pathlib import Path

import yaml

from corpus.schema import Form, MatterGuide, Scenario

ROOT = Path(__file__).resolve().parent.parent
SHANDONG = ROOT / "corpus" / "data" / "shandong"


def guide_form(path: str) -> Form:
    """The application form of a shipped guide, by its path under corpus/data/shandong (matters/x.yaml)."""
    model = Scenario if path.startswith("scenarios/") else MatterGuide
    return model.model_validate(yaml.safe_load((SHANDONG / path).read_text(encoding="utf-8"))).application_form


def role_values(state, role: str) -> dict[str, str]:
    """The filled values of one person on a form state, by kind (name, id_number, phone…)."""
    return {f.type if f.type != "text" else f.key.rsplit("_", 1)[-1]: f.value
            for f in state.fields if f.value and f.role == role}


def make_id(region: str = "370102", birth: str = "19900307", seq: str = "123") -> str:
    """An 18-digit ID with the GB 11643-1999 check digit (ISO 7064 MOD 11-2)."""
    body = region + birth + seq
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body))
    return body + "10X98765432"[total % 11]


def break_check(code: str) -> str:
    """The same code with a wrong last character."""
    alphabet = "0123456789X" if len(code) == 18 and code[:17].isdigit() else "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:-1] + next(c for c in alphabet if c != code[-1])


USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_uscc(body17: str = "91370100MA3C4XY2") -> str:
    """A 统一社会信用代码 with its GB 32100-2015 check character (weights 3^i mod 31)."""
    body17 = (body17 + "0" * 17)[:17]
    total = sum(USCC_CHARS.index(c) * (3 ** i % 31) for i, c in enumerate(body17))
    return body17 + USCC_CHARS[(31 - total % 31) % 31]


def newborn_form() -> tuple[Scenario, Form]:
    path = ROOT / "corpus/data/shandong/scenarios/newborn-birth.yaml"
    sc = Scenario.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    return sc, sc.form


def business_form() -> Form:
    """A 法人 form shaped like the business scenarios (company_name, uscc, legal_rep_*)."""
    return Form.model_validate({
        "id": "test-business-form",
        "title": "开办企业一件事申请表",
        "fields": [
            {"key": "company_name", "label": "企业名称", "type": "text", "required": True},
            {"key": "uscc", "label": "统一社会信用代码", "type": "uscc", "required": True},
            {"key": "legal_rep_name", "label": "法定代表人姓名", "type": "text", "required": True},
            {"key": "legal_rep_id_number", "label": "法定代表人身份证号", "type": "id_number", "required": True},
            {"key": "legal_rep_gender", "label": "法定代表人性别", "type": "enum", "options": ["男", "女"],
             "sources": ["derived"], "derived_from": "legal_rep_id_number", "derive": "gender"},
            {"key": "legal_rep_age", "label": "法定代表人年龄", "type": "int", "sources": ["derived"],
             "derived_from": "legal_rep_id_number", "derive": "age"},
            {"key": "registered_capital", "label": "注册资本", "type": "money", "required": True},
            {"key": "employee_count", "label": "从业人数", "type": "int"},
            {"key": "business_address", "label": "经营地址", "type": "address", "required": True},
            {"key": "contact_name", "label": "联系人姓名", "type": "text"},
            {"key": "contact_phone", "label": "联系人电话", "type": "phone", "required": True},
            {"key": "start_date", "label": "开业日期", "type": "date"},
        ],
    })
