"""How people ask for each guide (相似问法 of scenarios and matters), written blind, for retrieval only.

``<region>/phrasings.yaml`` holds, per guide, messages written by authors who saw only the guides' titles and
facts, never the code, the rules, the guides' ``sample_questions`` or any evaluation case: everyday words,
dialect, voice-to-text with homophones, rambling, indirect descriptions, one-detail questions, 12345 operator
notes, Traditional or mixed English, and requests for someone else. They teach retrieval the wordings the
curated ``sample_questions`` lack; nothing in them is shown to a user or trusted as a fact.

The file has the catalogue cache's shape and review policy (corpus/enrich.py): each entry carries the guide's
title when written (an entry for a retitled guide is stale and not indexed), a review status set in the staff
console or in the file, and ``index_unreviewed`` says whether unreviewed questions are indexed."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from corpus.datafile import DataFileError
from corpus.enrich import EnrichCache, problems_of, indexed_parts, load_cache
from corpus.loader import Problem, relative_path, read_yaml

if TYPE_CHECKING:
    from corpus.loader import Corpus

PHRASINGS = "phrasings.yaml"  # in a region folder


def attach_phrasings(corpus: "Corpus") -> None:
    """Give every scenario and matter its indexed phrasings; an entry for an unknown or retitled guide is a
    warning (file:line), a broken file an error, and either leaves the guides without phrasings."""
    by_folder: dict[Path, list] = defaultdict(list)
    for doc in [*corpus.scenarios.values(), *corpus.matters.values()]:
        info = corpus.sources.get(doc.id)
        if info is not None:
            by_folder[Path(info.file).parent.parent].append(doc)
    for region_dir, docs in by_folder.items():
        path = region_dir / PHRASINGS
        if not path.exists():
            continue
        try:
            cache: EnrichCache = load_cache(path)
        except DataFileError as exc:
            corpus.problems.extend(problems_of(exc, "phrasings"))
            continue
        guides = {d.id: d for d in docs}
        info = None
        for i, entry in enumerate(cache.entries):
            doc = guides.get(entry.id)
            if doc is None or entry.title != doc.title:
                why = (f"no scenario or matter {entry.id!r} in this region" if doc is None
                       else f"written for the title {entry.title!r}, now {doc.title!r}: review and update its title")
                info = info or read_yaml(path)[1]  # lines only when there is something to point at
                corpus.problems.append(Problem(relative_path(path, corpus.root), info.line_of(("entries", i)), f"entries.{i}",
                                               f"{why}; not indexed", "phrasings", "warning"))
                continue
            doc.phrasings = list(indexed_parts(entry, cache)[1])

