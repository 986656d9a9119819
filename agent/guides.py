"""Which guide a message asks for, learned: a linear classifier over character n-grams, trained on how each
scenario and matter is asked for (its title, aliases, sample questions, the blind-written phrasings of
corpus/phrasings.py, and the questions of FAQs that belong to it alone).

Retrieval finds the neighbourhood (its calibrated score says whether anything matches at all); among the confident
neighbours it ranks close together, the classifier, trained to tell exactly these guides apart, chooses. It never
routes to a guide retrieval did not find."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from agent.intent import classifier_text

if TYPE_CHECKING:
    from corpus.loader import Corpus


def training_texts(corpus: "Corpus") -> tuple[list[str], list[str]]:
    """(texts, guide ids): every way the corpus records of asking for each scenario and matter."""
    texts, labels = [], []
    guides = {**corpus.scenarios, **corpus.matters}
    for doc in guides.values():
        for text in [doc.title, *doc.aliases, *doc.sample_questions, *doc.phrasings]:
            texts.append(text)
            labels.append(doc.id)
    for faq in corpus.faqs.values():
        owners = [r for r in faq.related if r in guides]
        if len(owners) == 1:  # an FAQ about several guides says nothing about which one
            for text in [faq.question, *faq.sample_questions]:
                texts.append(text)
                labels.append(owners[0])
    return texts, labels


class GuideClassifier:
    """TF-IDF over character 1-3 grams + a linear SVM (scikit-learn), one class per scenario or matter; fitted
    when the assistant warms up, or on first use (a few seconds on the shipped corpus), once per assistant."""

    def __init__(self, corpus: "Corpus"):
        self._corpus = corpus
        self._model = None
        self._classes: dict[str, int] = {}
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Fit now (the assistant's start-up warming), not on the first routed turn."""
        self._fitted()

    def _fitted(self):
        with self._lock:
            if self._model is None:
                texts, labels = training_texts(self._corpus)
                model = make_pipeline(
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, preprocessor=classifier_text),
                    LinearSVC(C=0.5))
                if len(set(labels)) >= 2:
                    model.fit(texts, labels)
                    self._classes = {c: i for i, c in enumerate(model.classes_)}
                self._model = model
            return self._model

    def scores(self, text: str, guide_ids: list[str]) -> dict[str, float]:
        """Each known guide's decision value for ``text`` (higher: more likely the guide asked for)."""
        model = self._fitted()
        known = [g for g in guide_ids if g in self._classes]
        if not known:
            return {}
        values = np.atleast_1d(model.decision_function([text])[0])
        if len(self._classes) == 2:  # a binary SVM gives one value: the second class's side
            values = np.array([-values[0], values[0]])
        return {g: float(values[self._classes[g]]) for g in known}

    def prefer(self, text: str, top: str, rivals: list[str], margin: float) -> str | None:
        """The rival the classifier prefers to ``top`` by at least ``margin``, or None."""
        scores = self.scores(text, [top, *rivals])
        if top not in scores:
            return None
        best = max((r for r in rivals if r in scores and r != top), key=scores.get, default=None)
        return best if best is not None and scores[best] - scores[top] >= margin else None

