from index.text import add_words, normalize, tokenize


def test_normalize_traditional_fullwidth_numerals():
    assert normalize("辦理營業執照") == "办理营业执照"
    assert normalize("ＡＢＣ１２３") == "abc123"
    assert normalize("三十天内办结") == "30天内办结"
    assert normalize("孩子十八周岁") == "孩子18周岁"


def test_normalize_keeps_words_that_only_look_numeric():
    # 一件事 is a name, not the number one; 万一 means "in case".
    assert "一件事" in normalize("新生儿出生一件事")
    assert "万一" in normalize("万一丢了怎么办")


def test_tokenize_drops_citizen_stop_words_and_punctuation():
    toks = tokenize("请问我想办理营业执照，需要哪些材料？")
    assert "营业执照" in toks and "材料" in toks
    for stop in ("请问", "我想", "办理", "需要", "哪些", "，", "？"):
        assert stop not in toks


def test_traditional_and_simplified_queries_tokenize_alike():
    assert tokenize("駕駛證過期怎麼換") == tokenize("驾驶证过期怎么换")


def test_user_words_stay_whole():
    # A made-up card name no corpus teaches: the dictionary is process-wide.
    assert "银发暖心卡" not in tokenize("我要申领银发暖心卡")
    assert add_words(["银发暖心卡"]) == 1
    assert "银发暖心卡" in tokenize("我要申领银发暖心卡")
