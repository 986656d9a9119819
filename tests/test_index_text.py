from pathlib import Path

import pytest

from corpus.datafile import DataFileError
from index.text import Tokenizer, load_vocabulary, normalize, plain_tokenizer

tokenize = plain_tokenizer().tokenize


def test_normalize_traditional_fullwidth_numerals():
    assert normalize("辦理營業執照") == "办理营业执照"
    assert normalize("ＡＢＣ１２３") == "abc123"
    assert normalize("三十天内办结") == "30天内办结"
    assert normalize("孩子十八周岁") == "孩子18周岁"


def test_normalize_keeps_words_that_only_look_numeric():
    # 一件事 is a name, not the number one; 万一 means "in case".
    assert "一件事" in normalize("新生儿出生一件事")
    assert "万一" in normalize("万一丢了怎么办")
    # a kept word longer than the numeral run around it is kept whole (the old ±2 window missed 三证合一's 三)
    assert normalize("三证合一") == "三证合一" and normalize("药品零售") == "药品零售"
    assert normalize("打零工，卖零食") == "打零工,卖零食"
    # and a number next to a kept word is still a number (一般 once kept 三 in 一般三天)
    assert normalize("一般三天") == "一般3天" and normalize("一千零五元") == "1005元"


def test_an_index_built_under_another_reading_of_text_is_stale(monkeypatch):
    from index import build, text

    root = Path(__file__).resolve().parent.parent / "corpus" / "data"
    before = build._folder_signatures(root, None, "e")
    monkeypatch.setattr(text, "text_version", lambda: "other")
    monkeypatch.setattr(build, "text_version", lambda: "other")
    after = build._folder_signatures(root, None, "e")
    assert before and before.keys() == after.keys() and all(before[r] != after[r] for r in before)


def test_tokenize_drops_citizen_stop_words_and_punctuation():
    toks = tokenize("请问我想办理营业执照，需要哪些材料？")
    assert "营业执照" in toks and "材料" in toks
    for stop in ("请问", "我想", "办理", "需要", "哪些", "，", "？"):
        assert stop not in toks


def test_traditional_and_simplified_queries_tokenize_alike():
    assert tokenize("駕駛證過期怎麼換") == tokenize("驾驶证过期怎么换")


def test_user_words_stay_whole_in_their_own_tokenizer():
    # A made-up card name no corpus teaches: the word stays with the tokenizer taught it, not the process.
    taught, other = Tokenizer(), Tokenizer()
    assert "银发暖心卡" not in taught.tokenize("我要申领银发暖心卡")
    assert taught.add_words(["银发暖心卡"]) == 1
    assert "银发暖心卡" in taught.tokenize("我要申领银发暖心卡")
    assert "银发暖心卡" not in other.tokenize("我要申领银发暖心卡")
    assert taught.user_words() == {"银发暖心卡"} and other.user_words() == set()


def test_stop_words_come_from_the_vocabulary_file():
    vocabulary = load_vocabulary()
    assert {"请问", "怎么", "办理"} <= set(vocabulary.stop_words) and "一件事" in vocabulary.keep_numeral_words
    assert Tokenizer().stop_words == frozenset(vocabulary.stop_words)


def test_a_broken_vocabulary_file_names_file_and_line(tmp_path):
    path = tmp_path / "text.yaml"
    path.write_text("stop_words:\n  - 怎么\n  - ''\nkeep_numeral_words: []\n", encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_vocabulary(path)
    assert err.value.problems[0].startswith(f"{path}:3: stop_words.1")  # the empty entry is on line 3
    path.write_text("stop_words: [怎么\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=f"{path}:2: YAML syntax error"):
        load_vocabulary(path)
