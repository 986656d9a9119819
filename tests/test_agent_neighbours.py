"""Neighbouring titles told apart by the words only one of them has (agent/router.py ``said_neighbour``, the
``empty`` list of data/generic.yaml and the action words of data/actions.yaml), on the real index over the corpus slice of
tests/conftest_agent.py: its 广安区 catalogue holds three 放射源诊疗技术和医用辐射机构 matters (新办审批, 校验, 变更)
that share every topic word but one."""
from __future__ import annotations

import pytest

from agent.pipeline import Assistant
from agent.session import SessionState
from tests.conftest_agent import agent_settings

NEW = "放射源诊疗技术和医用辐射机构许可新办审批（县级）"
CHECK = "放射源诊疗技术和医用辐射机构许可校验（县级）"
CHANGE = "放射源诊疗技术和医用辐射机构变更（即办件）（县级）"


@pytest.fixture(scope="module")
def assistant():
    return Assistant.from_settings(agent_settings("none"))


def route(assistant, text):
    msg = assistant.normalizer.run(text)
    decision = assistant.router.run(msg, SessionState(session_id="neighbours"), None)
    return decision, [h.title for h in decision.hits]


def test_an_everyday_word_for_the_action_picks_the_neighbour_that_names_it(assistant):
    # 年检 is how people say the 校验 of a licence; retrieval ranks the 新办 matter first on the shared words
    decision, titles = route(assistant, "医院做放射诊疗的许可快到期了，要年检吗")
    assert titles[0] == NEW and CHECK in titles  # the case this mechanism is for
    assert decision.route is not None and decision.route.title == CHECK


def test_a_word_only_the_top_title_has_keeps_it(assistant):
    # 新办 is said: the 校验 neighbour may not take over even when 年检 is said too
    decision, titles = route(assistant, "医院要新办放射诊疗的许可，办完以后每年要年检吗")
    assert decision.route is not None and decision.route.title == NEW


def test_a_generic_word_is_no_difference_between_neighbours(assistant):
    # 许可 is in 校验's and 新办's titles and not in 变更's, but it says nothing about which service is meant
    decision, titles = route(assistant, "我们医院放射诊疗机构的负责人换了，许可要改吗")
    assert titles[0] == CHANGE
    assert decision.route is not None and decision.route.title == CHANGE


@pytest.mark.parametrize("text,word,says", [
    ("我那理发店不开了，卫生的证怎么销", "注销", True),
    ("营业执照丢了", "补办", True),
    ("想查一下档案到了没有", "查询", True),
    ("这个店是卖烟酒的，销售要许可吗", "注销", False),   # 销售 is no 注销
    ("卫生许可证注销要多久", "注销", True),
    ("许可证快到期了", "校验", False),
])
def test_actions_are_read_in_everyday_words(assistant, text, word, says):
    msg = assistant.normalizer.run(text)
    assert assistant.router._says(msg.text, word) is says


GUANGAN = "四川省广安市广安区"


def test_the_names_a_region_goes_by():
    from agent.router import place_names

    assert set(place_names(GUANGAN).pattern.split("|")) == {"四川省", "四川", "广安市", "广安区", "广安"}
    assert set(place_names("山东省").pattern.split("|")) == {"山东省", "山东"}


@pytest.mark.parametrize("said,plain", [
    ("我在广安区开了个书店，要什么审批", "我在开了个书店，要什么审批"),
    ("四川广安这边，医院的放射诊疗许可要年检吗", "这边，医院的放射诊疗许可要年检吗"),
    ("广安区这边诊所的放射诊疗许可丢了怎么办", "这边诊所的放射诊疗许可丢了怎么办"),
])
def test_the_regions_own_name_does_not_move_its_hits(assistant, said, plain):
    # searched within the region, its name says nothing more; as a word it pulls towards guides that name places
    router = assistant.router
    with_name = [(h.doc_id, h.score) for h in router.search(assistant.normalizer.run(said).search_text, GUANGAN)]
    without = [(h.doc_id, h.score) for h in router.search(assistant.normalizer.run(plain).search_text, GUANGAN)]
    assert with_name == without
    # without a region filter the name is searched as written: it is the only word that says where
    assert [h.score for h in router.search(assistant.normalizer.run(said).search_text, None)] != \
        [h.score for h in router.search(assistant.normalizer.run(plain).search_text, None)]
