"""Helpers for the index tests: a small two-region corpus written to a temp folder, and settings for it."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from daoban.settings import EmbeddingSettings, IndexSettings, Settings

SRC = {"name": "测试来源"}


def _matter(id_, title, department, audience, aliases, sample_questions, materials, region="测试省",
            steps=("网上申请", "窗口审核", "领取结果"), faqs=()):
    return {
        "id": id_, "title": title, "aliases": list(aliases), "region": region, "audience": list(audience),
        "department": department, "matter_type": "行政许可",
        "situations": [{"id": "first", "title": "首次申请", "conditions": ["符合条件的申请人"],
                        "materials": [{"name": m} for m in materials]}],
        "steps": list(steps), "time_limit": {"legal_days": 20, "promised_days": 5}, "fee": "不收费",
        "faqs": [{"q": q, "a": a} for q, a in faqs],
        "sample_questions": list(sample_questions), "source": SRC, "updated": "2026-10-01",
    }


DOCS = {
    "matters": [
        _matter("driver-license-renewal", "机动车驾驶证有效期满换证", "公安交警部门", ["个人"],
                ["驾照换证", "驾驶证到期换证"],
                ["驾照到期了怎么换", "驾驶证过期换新证要带什么", "驾照快到期了在哪换"],
                ["居民身份证", "机动车驾驶证", "身体条件证明"],
                faqs=[("驾驶证过期多久不能换", "超过有效期一年以上未换证的，驾驶证将被注销。")]),
        _matter("business-license-setup", "企业设立登记", "市场监督管理部门", ["法人"],
                ["开公司", "注册公司", "办营业执照"],
                ["我想开个公司要怎么注册", "注册公司需要准备哪些材料", "营业执照怎么申请"],
                ["公司章程", "股东身份证明", "住所使用证明"]),
        _matter("housing-fund-withdrawal", "住房公积金提取", "住房公积金管理中心", ["个人"],
                ["取公积金", "公积金提取"],
                ["公积金怎么取出来", "买房了能提公积金吗", "租房可以提取公积金吗"],
                ["居民身份证", "购房合同", "银行卡"]),
        _matter("pension-certification", "养老保险待遇资格认证", "人力资源社会保障部门", ["个人"],
                ["退休人员认证", "养老金认证"],
                ["退休金每年都要认证吗", "养老金资格认证怎么做", "老人领养老金要刷脸认证吗"],
                ["居民身份证"]),
    ],
    "scenarios": [{
        "id": "newborn-event", "title": "新生儿出生一件事", "aliases": ["宝宝出生一件事", "新生儿落户"],
        "region": "测试省", "audience": ["个人"], "stage": "出生", "lead_department": "卫生健康部门",
        "summary": "把出生医学证明、户口登记、医保参保和社保卡申领合并为一件事，父母一次申请、一套材料。",
        "members": [{"matter": "driver-license-renewal"}],
        "materials": [{"name": "出生医学证明"}, {"name": "父母户口簿"}],
        "time_limit": {"promised_days": 5},
        "sample_questions": ["孩子刚出生要办哪些证", "宝宝出生了上户口办医保怎么一起办", "新生儿落户需要什么材料"],
        "form": {"id": "newborn-event-form", "title": "新生儿出生一件事申请表", "fields": [
            {"key": "applicant_name", "label": "姓名", "type": "text"},
            {"key": "applicant_id_number", "label": "身份证号", "type": "id_number"},
            {"key": "applicant_phone", "label": "手机", "type": "phone"}]},
        "source": SRC, "updated": "2026-10-01",
    }],
    "faqs": [{
        "id": "lost-id-card", "question": "身份证丢了怎么补办", "answer": "携带户口簿到户籍所在地派出所申请补领居民身份证。",
        "region": "测试省", "department": "公安机关户政部门", "tags": ["身份证", "补领"],
        "sample_questions": ["身份证掉了怎么办", "身份证弄丢了去哪里补"],
    }],
    "catalog": [
        {"id": "cat-food-permit", "title": "食品经营许可证核发", "region": "测试省", "department": "市场监管局",
         "matter_type": "行政许可"},
        {"id": "cat-fishing-permit", "title": "渔业捕捞许可审批", "region": "测试省", "department": "农业农村局",
         "matter_type": "行政许可"},
    ],
}

OTHER_REGION_DOC = _matter("other-driver-license", "机动车驾驶证有效期满换证", "交警支队", ["个人"], ["驾照换证"],
                           ["驾照到期了怎么换"], ["居民身份证"], region="另一省")


def write_doc(path: Path, doc: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def make_small_corpus(root: Path) -> Path:
    """Region 测试省 (4 matters, 1 scenario, 1 FAQ, 2 catalogue matters) and region 另一省 (1 matter)."""
    write_doc(root / "test" / "region.yaml", {"name": "测试省"})
    for folder, docs in DOCS.items():
        for d in docs:
            write_doc(root / "test" / folder / f"{d['id']}.yaml", copy.deepcopy(d))
    write_doc(root / "other" / "region.yaml", {"name": "另一省"})
    write_doc(root / "other" / "matters" / "other-driver-license.yaml", copy.deepcopy(OTHER_REGION_DOC))
    return root


def index_settings(data_dir: Path, corpus_dir: Path, **index) -> Settings:
    return Settings(data_dir=data_dir, corpus_dir=corpus_dir, embedding=EmbeddingSettings(),
                    index=IndexSettings(**index))
