from corpus.editing import add_sample_question
from corpus.loader import load_corpus
from tests.corpus_factory import make_corpus


def test_add_sample_question_keeps_the_file_as_written(tmp_path):
    root = make_corpus(tmp_path)
    path = root / "test" / "matters" / "test-permit.yaml"
    path.write_text("# 内容维护: 测试科\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert add_sample_question("test-permit", "测试证: 网上能办吗?", root) == []
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# 内容维护: 测试科\n")
    doc = load_corpus(root).matters["test-permit"]
    assert doc.sample_questions[-1] == "测试证: 网上能办吗?"
    assert len(doc.sample_questions) == 5


def test_add_sample_question_refuses_a_duplicate_and_writes_nothing(tmp_path):
    root = make_corpus(tmp_path)
    path = root / "test" / "matters" / "test-permit.yaml"
    before = path.read_text(encoding="utf-8")
    problems = add_sample_question("test-permit", "测试登记怎么办", root)  # test-record has it
    assert problems and problems[0].code == "duplicate-sample-question"
    assert path.read_text(encoding="utf-8") == before


def test_add_sample_question_unknown_document(tmp_path):
    root = make_corpus(tmp_path)
    problems = add_sample_question("no-such-doc", "随便问问", root)
    assert problems and problems[0].code == "not-found"
