"""How people ask for each guide, written blind (corpus/phrasings.py): attached to scenarios and matters when the
corpus is loaded under the file's review policy, indexed as units of their own, and checked with file and line."""
from __future__ import annotations

from pathlib import Path

import yaml

from conftest_index import make_small_corpus
from corpus.loader import load_corpus
from corpus.phrasings import PHRASINGS
from index.units import document_units


def _write(region: Path, entries: list[dict], **top) -> Path:
    path = region / PHRASINGS
    path.write_text(yaml.safe_dump({**top, "entries": entries}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_phrasings_follow_the_review_policy_and_become_units(tmp_path):
    root = make_small_corpus(tmp_path / "corpus")
    _write(root / "test", [
        {"id": "housing-fund-withdrawal", "title": "住房公积金提取", "status": "approved",
         "questions": ["俺那个住房的钱咋往外拿", "公机金能取不"]},
        {"id": "pension-certification", "title": "养老保险待遇资格认证", "status": "rejected",
         "questions": ["不该进索引的问法"]},
        {"id": "newborn-event", "title": "新生儿出生一件事", "questions": ["闺女刚生了娃要跑哪些地方"]},
    ])
    corpus = load_corpus(root)
    assert not corpus.problems
    fund = corpus.matters["housing-fund-withdrawal"]
    assert fund.phrasings == ["俺那个住房的钱咋往外拿", "公机金能取不"]
    units = {u.section: u for u in document_units(fund)}
    assert units["phrasing:1"].text == "公机金能取不" and units["phrasing:1"].embed_text == "公机金能取不"
    assert units["title"].text.startswith("住房公积金提取")  # the title card is untouched
    assert corpus.matters["pension-certification"].phrasings == []       # rejected: never indexed
    assert corpus.scenarios["newborn-event"].phrasings == []             # unreviewed: off by default
    assert "phrasings" not in fund.model_dump()  # set on load, never written back into the guide's file

    _write(root / "test", [{"id": "newborn-event", "title": "新生儿出生一件事", "questions": ["闺女刚生了娃要跑哪些地方"]}],
           index_unreviewed=["questions"])
    assert load_corpus(root).scenarios["newborn-event"].phrasings == ["闺女刚生了娃要跑哪些地方"]


def test_unknown_and_retitled_guides_are_warnings_with_their_line(tmp_path):
    root = make_small_corpus(tmp_path / "corpus")
    path = _write(root / "test", [
        {"id": "housing-fund-withdrawal", "title": "住房公积金提取", "status": "approved", "questions": ["取钱"]},
        {"id": "no-such-guide", "title": "没有这个", "status": "approved", "questions": ["问法"]},
        {"id": "pension-certification", "title": "养老金认证（旧标题）", "status": "approved", "questions": ["问法"]},
    ])
    corpus = load_corpus(root)
    lines = path.read_text(encoding="utf-8").splitlines()
    got = [(Path(p.file).name, p.line, p.severity, p.code) for p in corpus.problems]
    unknown = next(i for i, line in enumerate(lines, 1) if "no-such-guide" in line)
    retitled = next(i for i, line in enumerate(lines, 1) if "pension-certification" in line)
    assert got == [(PHRASINGS, unknown, "warning", "phrasings"), (PHRASINGS, retitled, "warning", "phrasings")]
    assert "now '养老保险待遇资格认证'" in corpus.problems[1].message
    assert corpus.matters["pension-certification"].phrasings == []  # written for another title: not indexed
    assert corpus.matters["housing-fund-withdrawal"].phrasings == ["取钱"]


def test_a_broken_file_is_an_error_and_the_guides_stay_loaded(tmp_path):
    root = make_small_corpus(tmp_path / "corpus")
    (root / "test" / PHRASINGS).write_text("entries:\n- id: newborn-event\n  title: 新生儿出生一件事\n  questions: ['']\n",
                                           encoding="utf-8")
    corpus = load_corpus(root)
    assert [(Path(p.file).name, p.line, p.severity, p.code) for p in corpus.problems] == \
        [(PHRASINGS, 4, "error", "phrasings")]
    assert len(corpus.matters) == 5 and corpus.scenarios["newborn-event"].phrasings == []



def test_the_shipped_phrasings_are_current_and_indexed():
    corpus = load_corpus()
    assert not [p for p in corpus.problems if p.code == "phrasings"]
    guides = [*corpus.scenarios.values(), *corpus.matters.values()]
    with_phrasings = [d for d in guides if d.phrasings]
    assert len(with_phrasings) >= 0.9 * len(guides)
