"""好差评 and tickets on the three pages in headless Chromium: a citizen's complaint becomes a ticket and a 差评 a
整改 ticket in the widget, the hotline makes a ticket from a call and records the caller's rating, and staff see
the figures and move a ticket on. Screenshots in $DAOBAN_SCREENSHOTS when set (docs/screenshots for the README)."""
from __future__ import annotations

import pytest

from conftest_api import HOTLINE_KEY, STAFF_KEY, api_server  # noqa: F401
from test_pages_browser import ARGS, CHROMIUM, SHOTS, WAIT, ON_SQLITE, _last_bot, _login, _wait_answer, browser, page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@ON_SQLITE
def test_widget_complaint_becomes_a_ticket_and_a_bad_rating_needs_a_reason(page, api_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(api_server.url + "/")
    page.get_by_role("button", name="打开一件事智能导办").click()
    _wait_answer(page, 1)
    page.keyboard.type("我要投诉，新生儿落户跑了三次还没办成")
    page.keyboard.press("Enter")
    _wait_answer(page, 2)
    bot = _last_bot(page)
    bot.get_by_role("button", name="提交工单（投诉 / 办不成事）").click()
    form = page.locator("form.dbw-tform")
    form.locator("textarea").fill("窗口说材料不全，让我跑了三次，身份证370102199204150026也带了")
    form.locator("input[type=tel]").fill("13912345678")
    form.get_by_role("button", name="提交工单").click()
    assert "勾选同意" in form.locator(".err").inner_text()  # a phone is only kept with consent
    form.locator("input[type=checkbox]").check()
    form.get_by_role("button", name="提交工单").click()
    receipt = page.locator(".dbw-receipt").last
    receipt.wait_for(timeout=WAIT)
    number = receipt.locator(".no").inner_text()
    assert number.startswith("GD") and "收到" in receipt.inner_text()
    # the answer's 好差评: 非常不满意 needs a reason, then opens a 整改 ticket
    bot.get_by_role("button", name="评价本次服务 ▾").click()
    rate = bot.locator(".dbw-rate")
    rate.get_by_role("button", name="非常不满意").click()
    rate.get_by_role("button", name="提交评价").click()
    assert "至少选择一项原因" in rate.inner_text()
    rate.get_by_label("多次跑腿").check()
    rate.get_by_role("button", name="提交评价").click()
    page.wait_for_function("() => [...document.querySelectorAll('.dbw-rate')].some(x => x.textContent.includes('整改工单'))",
                           timeout=WAIT)
    page.screenshot(path=str(SHOTS / "widget-ticket.png"))
    # 查工单 in the same session answers its status
    page.locator(".dbw-input textarea").fill(f"查工单 {number}")
    page.locator(".dbw-input textarea").press("Enter")
    _wait_answer(page, 3)
    assert "收到" in _last_bot(page).inner_text()


@ON_SQLITE
def test_hotline_ticket_from_a_call_and_staff_move_it(page, api_server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(api_server.url + "/hotline")
    _login(page, HOTLINE_KEY)
    page.locator("#said").fill("来电人反映新生儿出生一件事在网上一直提交不了，系统报错，要求尽快处理")
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => document.querySelectorAll('#transcript .turn').length >= 2", timeout=WAIT)
    page.locator("#ticketDraft").click()
    page.locator("#ticketForm").wait_for(timeout=WAIT)
    assert "系统报错" in page.locator("#tPoints").input_value()
    assert page.locator("#tService").input_value() == "新生儿出生一件事"
    page.locator("#tKind").select_option("cannot_do")
    page.locator("#tContact").fill("13812345678")
    page.locator("#tConsent").check()
    page.locator("#tSubmit").click()
    page.wait_for_function("() => document.getElementById('ticketDone').textContent.includes('已生成工单')", timeout=WAIT)
    number = page.locator("#ticketDone").inner_text().split("工单 ")[1].split("（")[0]
    page.locator("#rLevels button", has_text="基本满意").click()
    page.locator("#rSubmit").click()
    page.wait_for_function("() => document.getElementById('toast').textContent.includes('已记录评价')", timeout=WAIT)
    page.screenshot(path=str(SHOTS / "hotline-ticket.png"))

    # staff: the ticket is listed, assigned with a note, and the figures show the service
    page.goto(api_server.url + "/admin/tickets")
    _login(page, STAFF_KEY)
    row = page.locator(f"tr[data-ticket='{number}']")
    row.wait_for(timeout=WAIT)
    assert "收到" in row.inner_text() and "办不成事" in row.inner_text()
    assert "新生儿出生一件事" in page.locator("#byService").inner_text()
    row.click()
    detail = page.locator(".detail")
    assert "13812345678" in detail.inner_text()  # consented: staff call back
    detail.get_by_role("button", name="转为「分派」").click()
    page.wait_for_function("() => document.getElementById('toast').textContent.includes('分派')"
                           " || document.getElementById('toast').textContent.includes('承办人')", timeout=WAIT)
    assert "承办人" in page.locator("#toast").inner_text()  # 分派 needs an assignee
    detail.get_by_label("承办人").fill("市卫健委 户籍科")
    detail.get_by_label("处理说明").fill("已转承办部门核查系统报错")
    detail.get_by_role("button", name="转为「分派」").click()
    page.wait_for_function(f"() => document.querySelector(\"tr[data-ticket='{number}']\").textContent.includes('分派')",
                           timeout=WAIT)
    page.screenshot(path=str(SHOTS / "admin-tickets.png"), full_page=True)
