import csv
import json
from pathlib import Path

import openpyxl
import pytest

from corpus.importers import ImportFailed, import_catalog, import_faq
from corpus.loader import load_corpus
from corpus.schema import Region, Source
from corpus.validate import errors, validate_corpus
from tests.corpus_factory import make_corpus

CATALOG_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "matter-catalog-guangan.csv"
ROWS = [
    {"问题": "公积金怎么提取", "答案": "登录爱山东APP，进入公积金提取页面按提示办理。", "部门": "住房公积金管理中心", "标签": "公积金;提取"},
    {"问题": "社保卡丢了怎么办", "答案": "可在爱山东APP挂失并申请补办。", "部门": "人力资源社会保障局", "标签": "社保卡"},
]


def faq_files(root: Path) -> list[Path]:
    return sorted((root / "test" / "faqs").glob("*.yaml"))


def write_csv(path: Path, rows, encoding="utf-8"):
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    book.save(path)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_import_csv(tmp_path, encoding):
    root = make_corpus(tmp_path / "corpus")
    src = write_csv(tmp_path / "faq.csv", ROWS, encoding)
    report = import_faq(src, root / "test", "测试省")
    assert len(report.written) == 2
    corpus = load_corpus(root)
    questions = {f.question: f for f in corpus.faqs.values()}
    assert questions["社保卡丢了怎么办"].department == "人力资源社会保障局"
    assert questions["公积金怎么提取"].tags == ["公积金", "提取"]
    assert errors(validate_corpus(root)) == []
    # re-importing the same file updates the same documents, it does not duplicate them
    import_faq(src, root / "test", "测试省")
    assert len(faq_files(root)) == 2


def test_import_xlsx(tmp_path):
    root = make_corpus(tmp_path / "corpus")
    src = write_xlsx(tmp_path / "faq.xlsx", ROWS)
    import_faq(src, root / "test", "测试省")
    assert {f.question for f in load_corpus(root).faqs.values()} == {"公积金怎么提取", "社保卡丢了怎么办"}


def test_import_jsonl_with_column_mapping(tmp_path):
    root = make_corpus(tmp_path / "corpus")
    src = tmp_path / "faq.jsonl"
    src.write_text("\n".join(json.dumps({"咨询内容": r["问题"], "答复": r["答案"]}, ensure_ascii=False) for r in ROWS),
                   encoding="utf-8")
    with pytest.raises(ImportFailed, match="--map"):
        import_faq(src, root / "test", "测试省")
    import_faq(src, root / "test", "测试省", mapping={"question": "咨询内容", "answer": "答复"})
    assert len(faq_files(root)) == 2


def test_bad_csv_writes_nothing_and_names_the_row(tmp_path):
    root = make_corpus(tmp_path / "corpus")
    rows = ROWS + [{"问题": "只有问题没有答案", "答案": "", "部门": "", "标签": ""}]
    src = write_csv(tmp_path / "faq.csv", rows)
    with pytest.raises(ImportFailed) as exc:
        import_faq(src, root / "test", "测试省")
    assert "row 4" in str(exc.value) and "答案" in str(exc.value)
    assert faq_files(root) == []


def test_bad_files_get_clear_errors(tmp_path):
    root = make_corpus(tmp_path / "corpus")
    missing = write_csv(tmp_path / "cols.csv", [{"标题": "x", "内容": "y"}])
    with pytest.raises(ImportFailed, match="no question or answer column"):
        import_faq(missing, root / "test", "测试省")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not really a workbook")
    with pytest.raises(ImportFailed, match="not a readable XLSX"):
        import_faq(broken, root / "test", "测试省")
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"question": "a?", "answer": "b"}\n{"question": oops}\n', encoding="utf-8")
    with pytest.raises(ImportFailed, match="bad.jsonl:2"):
        import_faq(bad_json, root / "test", "测试省")
    with pytest.raises(ImportFailed, match="unsupported file type"):
        import_faq(_touch(tmp_path / "faq.txt"),
                   root / "test", "测试省")
    assert faq_files(root) == []


def _touch(path: Path) -> Path:
    path.write_text("q,a\n", encoding="utf-8")
    return path


def test_catalogue_import(tmp_path):
    region_dir = tmp_path / "corpus" / "guangan"
    report = import_catalog(CATALOG_CSV, region_dir, Region(name="四川省广安市广安区", code="511602000000"),
                            Source(name="四川政务服务网公开事项目录"))
    assert len(report.written) == 1136  # 1,135 matters and region.yaml
    corpus = load_corpus(tmp_path / "corpus")
    assert len(corpus.catalog) == 1135
    assert len({c.department for c in corpus.catalog.values()}) == 34
    assert corpus.problems == []
    permit = next(c for c in corpus.catalog.values() if c.task_type == "1")
    assert permit.matter_type == "行政许可" and "itemCode=" in permit.link


def test_catalogue_import_rejects_a_csv_without_its_columns(tmp_path):
    src = write_csv(tmp_path / "cat.csv", [{"部门": "a", "名称": "b"}])
    with pytest.raises(ImportFailed, match="missing column"):
        import_catalog(src, tmp_path / "out", Region(name="某地"), Source(name="测试"))
    assert not (tmp_path / "out").exists()
