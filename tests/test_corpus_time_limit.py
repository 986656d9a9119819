"""One owner of the time-limit wording: corpus.schema.TimeLimit.parts serves the index units, the answer,
the hotline card, the guide page and the receipt."""
from corpus.schema import TimeLimit


def test_time_limit_parts_in_each_wording():
    t = TimeLimit(promised_days=5, legal_days=20, note="节假日顺延")
    assert t.parts() == ["承诺时限5个工作日", "法定时限20个工作日"]
    assert t.parts(promised="承诺{}", legal="法定{}") == ["承诺5个工作日", "法定20个工作日"]
    assert t.parts(promised="一般{}办结", legal=None) == ["一般5个工作日办结"]
    on_the_spot = TimeLimit(promised_days=0)
    assert on_the_spot.parts(on_the_spot="即办（当场办结）") == ["即办（当场办结）"]
    assert TimeLimit(note="以受理部门告知为准").parts() == []
