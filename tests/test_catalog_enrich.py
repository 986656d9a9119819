"""Plain words of catalogue-only matters (corpus/enrich.py): enrichment when the corpus is loaded, the cache
file's validation, the resumable generator, and the department named when no matter is confident."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from corpus.datafile import DataFileError
from corpus.enrich import CACHE, DEPARTMENTS, EnrichCache, EnrichEntry, load_cache, load_departments, save_cache
from corpus.loader import load_corpus
from index.units import document_units

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "corpus" / "data" / "guangan"


def _docs(n: int = 3) -> list[Path]:
    return sorted((SRC / "catalog").glob("*.yaml"))[:n]


@pytest.fixture()
def region(tmp_path) -> Path:
    """A copy of three 广安区 catalogue matters with the real departments file."""
    dst = tmp_path / "corpus" / "guangan"
    (dst / "catalog").mkdir(parents=True)
    shutil.copy(SRC / "region.yaml", dst / "region.yaml")
    shutil.copy(SRC / DEPARTMENTS, dst / DEPARTMENTS)
    for p in _docs():
        shutil.copy(p, dst / "catalog" / p.name)
    return dst


def _meta(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _write_cache(region: Path, entries: list[dict], **top) -> Path:
    path = region / CACHE
    path.write_text(yaml.safe_dump({**top, "entries": entries}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_enrichment_gives_each_catalogue_matter_plain_words_as_own_units(region):
    a, b, c = (_meta(p) for p in _docs())
    _write_cache(region, [
        {"id": a["id"], "title": a["title"], "status": "approved", "keywords": ["码头报备"], "questions": ["我开码头要报备啥"]},
        {"id": b["id"], "title": b["title"], "status": "rejected", "keywords": ["不该进"], "questions": ["不该进的问法"]},
    ])
    corpus = load_corpus(region.parent)
    assert not corpus.problems
    doc = corpus.catalog[a["id"]]
    dept = load_departments(region / DEPARTMENTS).by_name()[a["department"]]
    assert doc.plain.domain == dept.domain and doc.plain.kind  # the department's domain and the kind in plain words
    assert doc.plain.keywords == ["码头报备"] and doc.plain.questions == ["我开码头要报备啥"]
    units = {u.section: u for u in document_units(doc)}
    assert units["title"].text.startswith(a["title"]) and "码头报备" not in units["title"].text  # the title stays
    assert "码头报备" in units["plain"].text and units["similar_question:0"].text == "我开码头要报备啥"
    assert "domain" not in units  # shared by hundreds of matters: it names the department, it does not rank
    rejected = corpus.catalog[b["id"]]
    assert rejected.plain.keywords == [] and rejected.plain.questions == []
    assert not any(u.section.startswith("similar_question") for u in document_units(rejected))
    assert corpus.catalog[c["id"]].plain.questions == []  # not generated yet: domain and kind only


def test_unreviewed_entries_follow_the_files_policy_and_stale_titles_are_dropped(region):
    a, b, _ = (_meta(p) for p in _docs())
    entries = [{"id": a["id"], "title": a["title"], "keywords": ["关键词甲"], "questions": ["问法甲"]},
               {"id": b["id"], "title": "改名前的标题", "keywords": ["关键词乙"], "questions": ["问法乙"]}]
    _write_cache(region, entries, index_unreviewed=["keywords"])
    corpus = load_corpus(region.parent)
    assert corpus.catalog[a["id"]].plain.keywords == ["关键词甲"] and corpus.catalog[a["id"]].plain.questions == []
    assert corpus.catalog[b["id"]].plain.keywords == []  # generated for another title
    _write_cache(region, entries, index_unreviewed=["keywords", "questions"])
    assert load_corpus(region.parent).catalog[a["id"]].plain.questions == ["问法甲"]
    _write_cache(region, entries)  # by default nothing unreviewed is indexed
    assert load_corpus(region.parent).catalog[a["id"]].plain.keywords == []


def test_cache_loader_reports_file_and_line(region):
    a = _meta(_docs()[0])
    path = region / CACHE
    path.write_text(f"entries:\n- id: {a['id']}\n  title: x\n  status: maybe\n", encoding="utf-8")
    with pytest.raises(DataFileError) as exc:
        load_cache(path)
    assert exc.value.problems[0].startswith(f"{path}:4: entries.0.status")
    path.write_text(f"entries:\n- id: {a['id']}\n  title: x\n- id: {a['id']}\n  title: y\n", encoding="utf-8")
    with pytest.raises(DataFileError) as exc:
        load_cache(path)
    assert exc.value.problems == [f"{path}:4: entries.1.id: {a['id']!r} repeats entry 0"]
    path.write_text("entries:\n- id: x\n  title: y\n  questions: ['']\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r":4: entries.0.questions"):
        load_cache(path)
    # Through the corpus loader the problem is a corpus problem with its line; the matters stay loaded.
    path.write_text("entries:\n- id: x\n  title: y\n  bogus: 1\n", encoding="utf-8")
    corpus = load_corpus(region.parent)
    assert [(Path(p.file).name, p.line, p.code) for p in corpus.problems] == [(CACHE, 4, "catalog-enrich")]
    assert len(corpus.catalog) == 3
    (region / DEPARTMENTS).write_text("catalogue_link: x\ndepartments:\n- name: 区人社局\n  domain: []\n",
                                      encoding="utf-8")
    corpus = load_corpus(region.parent)
    assert (DEPARTMENTS, 4, "departments") in [(Path(p.file).name, p.line, p.code) for p in corpus.problems]


def test_save_then_load_round_trips(region):
    path = region / CACHE
    save_cache(path, EnrichCache(entries=[EnrichEntry(id="x", title="t", keywords=["a"], questions=["b"])]))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#") and "status: unreviewed" in text
    assert load_cache(path).entries[0].questions == ["b"]


def test_generator_resumes_and_keeps_order(region):
    from corpus.generate import order, parse, run

    docs = list(load_corpus(region.parent).catalog.values())
    calls = []

    def fake(doc, department):
        calls.append(doc.id)
        return ["口语词"], [f"{doc.title[:4]}怎么办"]

    first = run(docs, region, fake, lambda d: d, "fake", limit=2)
    assert first.generated == 2 and first.remaining == 1 and calls == [d.id for d in order(docs)][:2]
    second = run(docs, region, fake, lambda d: d, "fake")
    assert second.generated == 1 and second.skipped == 2 and len(calls) == 3
    cache = load_cache(region / CACHE)
    assert {e.id for e in cache.entries} == {d.id for d in docs} and {e.status for e in cache.entries} == {"unreviewed"}
    # a failed generation is not cached, so the next run retries it
    (region / CACHE).unlink()
    assert run(docs, region, lambda d, dep: ([], []), lambda d: d, "fake").failed == 3
    assert not load_cache(region / CACHE).entries
    assert parse('{"keywords": ["领钱", "领钱", "x"], "questions": ["标题", "我想领补贴"]}', "标题") == (["领钱"], ["我想领补贴"])
    assert parse("not json", "t") == ([], [])


# -- the department named when no matter is confident ------------------------------------------------

def _hit(doc, score: float):
    from index.types import Hit

    return Hit(doc_id=doc.id, kind="catalog", title=doc.title, region=doc.region, score=score, confident=False)


def test_department_hint_from_domain_words_then_from_hits():
    from agent.responders import department_hint

    corpus = load_corpus(regions=["guangan"])
    depts = corpus.departments["四川省广安市广安区"]
    by_dept = {}
    for d in corpus.catalog.values():
        by_dept.setdefault(d.department, []).append(d)
    rs = by_dept["区人社局"][0]
    # the message uses the 人社局's domain words; a transport hit does not outweigh them
    hint = department_hint("我失业了想领失业金", [_hit(by_dept["区交通运输局"][0], 0.3)], corpus, depts)
    assert hint.department.name == "区人社局" and hint.matters == []
    # no domain word: the department whose matters the (unconfident) hits favour, with those matters
    hint = department_hint("那个事咋整", [_hit(rs, 0.2), _hit(by_dept["区人社局"][1], 0.1)], corpus, depts)
    assert hint.department.name == "区人社局" and hint.matters == [rs.title, by_dept["区人社局"][1].title]
    assert department_hint("那个事咋整", [_hit(rs, 0.05)], corpus, depts) is None  # too weak to name anyone
    assert department_hint("我失业了", [], corpus, None) is None  # a region without a departments file


def test_no_match_reply_names_the_department_and_links_its_catalogue():
    from agent.normalize import Normalizer
    from agent.responders import Ask, DepartmentHint, NoMatchResponder, ReplyTexts

    corpus = load_corpus(regions=["guangan"])
    region = corpus.region_of("四川省广安市广安区")
    depts = corpus.departments[region.name]
    dept = depts.by_name()["区人社局"]
    words = ReplyTexts.load()
    msg = Normalizer().run("我失业了怎么办")
    plain = NoMatchResponder(words).run(Ask(msg, region))
    hinted = NoMatchResponder(words).run(Ask(msg, region), hint=DepartmentHint(dept, depts.catalogue_link, ["失业保险金申领"]))
    assert dept.full_name not in plain.answer
    assert dept.full_name in hinted.answer and depts.catalogue_link in hinted.answer and "「失业保险金申领」" in hinted.answer
    assert "{" not in hinted.answer and "12345" in hinted.answer


def test_catalogue_matters_have_their_own_no_match_threshold():
    from types import SimpleNamespace

    from daoban.settings import load_settings
    from index.retriever import HybridRetriever

    settings = load_settings()
    fake = SimpleNamespace(settings=settings)
    assert HybridRetriever._threshold(fake, "catalog") == settings.index.catalog_no_match_threshold
    for kind in ("scenario", "matter", "faq"):
        assert HybridRetriever._threshold(fake, kind) == settings.index.no_match_threshold
    assert settings.index.catalog_no_match_threshold < settings.index.no_match_threshold
