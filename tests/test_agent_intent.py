"""The intent classifier's training data written blind (agent/data/intent_phrasings.yaml) and what it teaches."""
from __future__ import annotations

import pytest
import yaml

from agent.intent import DATA_DIR, INTENTS, IntentClassifier, IntentPhrasings, load_examples, load_phrasings
from agent.pipeline import _vocabulary
from corpus.datafile import DataFileError, load_data_file
from corpus.loader import load_corpus
from daoban.settings import get_settings


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(get_settings().corpus_dir)


@pytest.fixture(scope="module")
def classifier(corpus):
    return IntentClassifier.from_corpus(corpus)


def test_the_shipped_phrasings_cover_every_intent_with_their_authors_named():
    data = load_data_file(DATA_DIR / "intent_phrasings.yaml", IntentPhrasings)
    assert data.authors and all(a.startswith("blind-author-") for a in data.authors)
    assert set(data.examples) == set(INTENTS)
    # the confusable intents carry hundreds each, the short ones tens
    assert min(len(data.examples[k]) for k in ("apply", "consult", "out_of_scope", "complaint")) >= 200
    assert min(len(data.examples[k]) for k in ("query_status", "human", "chitchat")) >= 40


def test_a_message_labelled_two_ways_is_refused_naming_both(tmp_path):
    path = tmp_path / "intent_phrasings.yaml"
    path.write_text(yaml.safe_dump({"authors": ["blind-author-x"], "examples": {
        "consult": ["社保卡丢了去哪补"], "complaint": ["社保卡丢了去哪补"]}}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_data_file(path, IntentPhrasings)
    assert "consult" in str(err.value.problems) and "complaint" in str(err.value.problems)


def test_an_unknown_intent_is_refused(tmp_path):
    path = tmp_path / "intent_phrasings.yaml"
    path.write_text(yaml.safe_dump({"authors": ["a"], "examples": {"applyy": ["我要办"]}}, allow_unicode=True),
                    encoding="utf-8")
    with pytest.raises(DataFileError):
        load_data_file(path, IntentPhrasings)


def test_the_phrasings_train_the_classifier_but_never_feed_a_vocabulary(corpus):
    texts, labels = load_phrasings()
    trained, _ = load_examples(corpus)
    assert len(IntentClassifier.from_corpus(corpus).model.classes_) == len(INTENTS)
    # their deliberate homophones must not reach the pinyin reader's words
    vocabulary = set(_vocabulary(corpus))
    assert not (set(texts) - set(trained)) & vocabulary
    # the guides' blind phrasings are consult examples whatever region a deployment loads
    phrased = next(d for d in corpus.matters.values() if d.phrasings)
    assert labels[texts.index(phrased.phrasings[0])] == "consult"


@pytest.mark.parametrize("message,intent", [
    # our own sentences, one per class the blind data teaches
    ("俺寻思给俺老丈人把高龄补贴申请上，他叫石守田，身份证370283194705163318，这就给提交了吧", "apply"),
    ("帮我闺女现在就把居住证给办了，表我来填", "apply"),
    ("电信宽带到期了怎么续费便宜点", "out_of_scope"),
    ("德国的居留许可延期要准备什么", "out_of_scope"),
    ("为啥我交了三回材料你们还说不全，到底想让人跑几趟", "complaint"),
    ("上个月递的营业执照变更申请，审到哪一步了", "query_status"),
    ("医院说出生证明要先去派出所报户口才给，这个顺序对吗", "consult"),
])
def test_the_classifier_reads_messages_it_never_saw(classifier, message, intent):
    texts, _ = load_phrasings()
    assert message not in texts
    assert classifier.predict(message).name == intent
