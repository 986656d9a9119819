"""An application made in the widget from first sentence to receipt, in headless Chromium on a portal of another
origin: said for a parent in one sentence, prefilled for the right persons, pre-reviewed (辅助审核) with 补正 items on
their fields, corrected once in the form and once in the chat ("不对，…"), submitted; then the stored submission is
read back on the server's side and the server's log is searched for the ID numbers.

One shared server (tests/conftest_api.py), one page. Install the browser with ``scripts/setup.sh --browser``."""
from __future__ import annotations

import json
import re

import httpx
import pytest

from conftest_api import FORM_MATTER, STAFF_KEY, api_server, id_number  # noqa: F401
from test_pages_browser import SHOTS, WAIT, ON_SQLITE, _wait_answer, browser, page, portal  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Numbers no other test uses, so the log search below is about this application alone.
FATHER_ID = id_number("37010219580304017")
OWN_ID = id_number("37010219860512033")
WRONG_PHONE, PHONE = "1391234560", "13912345608"  # one digit short, then as meant


def _fix_items(form):
    return form.locator(".dbw-review li")


def _gone(page, form, key: str):
    """Wait until the pre-review lists no 补正 item for ``key`` (it re-checks after each edit)."""
    form.locator(f'.dbw-review li[data-key="{key}"]').wait_for(state="detached", timeout=WAIT)


@ON_SQLITE
def test_widget_fills_pre_reviews_corrects_and_submits_an_application(page, api_server, portal):
    page.goto(portal + "/")
    assert page.evaluate("location.origin") != api_server.url  # the widget runs on someone else's site
    _wait_answer(page, 1)
    page.locator(".dbw-input textarea").fill(
        f"我要给我父亲换领身份证，他叫张建国，身份证号{FATHER_ID}。我叫张明，电话{WRONG_PHONE}")
    page.keyboard.press("Enter")
    form = page.locator(".dbw-form")
    form.wait_for(timeout=WAIT)

    # prefilled for the right persons: the father is the subject, the speaker the 代办人
    def box(label: str):
        return form.get_by_label(re.compile(f"^{label}\\*?$"))

    assert box("姓名").input_value() == "张建国"
    assert box("公民身份号码").input_value() == FATHER_ID
    assert box("代办人姓名").input_value() == "张明"
    assert box("办理方式").input_value() == "代他人办理"
    phone = box("代办人联系电话")
    assert phone.input_value() == WRONG_PHONE
    assert phone.get_attribute("aria-required") == "true"
    assert form.get_by_role("textbox", name="姓名", exact=True).input_value() == "张建国"  # the label alone names it

    # 预审: the 补正 items in plain Chinese, each tied to its field, announced, and the keyboard on the first to fix
    form.get_by_role("button", name="预审").click()
    review = form.locator(".dbw-review")
    form.locator(".dbw-review h4").wait_for(timeout=WAIT)
    assert review.get_attribute("aria-live") == "polite"
    assert "需补正" in review.locator("h4").inner_text()
    fixes = form.get_by_role("list", name="需补正")
    phone_item = fixes.locator('li[data-key="agent_phone"]')
    assert "11位" in phone_item.inner_text()
    assert "请填写民族" in fixes.locator('li[data-key="ethnicity"]').inner_text()
    assert phone.get_attribute("aria-invalid") == "true"
    described = page.locator("#" + phone.get_attribute("aria-describedby"))
    assert "11位" in described.inner_text()  # the field says its own problem
    first_invalid = form.locator(".dbw-field.invalid").first.get_attribute("data-key")
    assert page.evaluate("document.activeElement.name") == first_invalid == "ethnicity"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "widget-review.png"))

    # corrected in the form: typed where the keyboard already is, then the rest of the gaps
    page.keyboard.type("汉族")
    page.keyboard.press("Tab")
    _gone(page, form, "ethnicity")
    mail = form.locator('.dbw-field[data-key="mail_address"]')
    assert mail.locator("input").get_attribute("aria-required") is None  # only once 邮寄送达 is chosen
    box("申领原因").select_option(index=1)
    box("结果领取方式").select_option("窗口领取")
    mail.wait_for(state="detached", timeout=WAIT)  # a choice that rules a field out takes it off the form
    own_id = box("代办人身份证号")
    own_id.fill(OWN_ID[:-1] + ("0" if OWN_ID[-1] != "0" else "1"))  # a slip of the last digit: said once, politely
    own_id.press("Tab")
    page.wait_for_function("() => document.querySelector('.dbw-form .dbw-sr').textContent.startsWith('代办人身份证号：')",
                           timeout=WAIT)
    assert form.locator(".dbw-sr").get_attribute("aria-live") == "polite"
    assert form.locator("[role=alert]").count() == 0, "many fields marked at once must not be as many alerts"
    own_id.fill(OWN_ID)
    own_id.press("Tab")
    for key in ("situation", "delivery", "agent_id_number"):
        _gone(page, form, key)
    assert [li.get_attribute("data-key") for li in _fix_items(form).all()] == ["agent_phone"]
    # the item links to its field
    phone_item.get_by_role("button").click()
    assert page.evaluate("document.activeElement.name") == "agent_phone"

    # corrected in the chat: the card comes back with the new number, the typed values kept, and passes
    answers = page.locator(".dbw-msg.bot .dbw-b").count()
    page.locator(".dbw-input textarea").fill(f"不对，电话是{PHONE}")
    page.keyboard.press("Enter")
    _wait_answer(page, answers + 1)
    page.wait_for_function("p => document.querySelector('.dbw-form input[name=agent_phone]').value === p",
                           arg=PHONE, timeout=WAIT)
    _gone(page, form, "agent_phone")
    page.wait_for_function("() => (document.querySelector('.dbw-form .dbw-review h4') || {}).textContent"
                           "?.includes('预审通过')", timeout=WAIT)
    assert _fix_items(form).count() == 0
    assert box("民族").input_value() == "汉族" and box("代办人身份证号").input_value() == OWN_ID
    assert phone.get_attribute("aria-invalid") != "true"

    # submitted: the receipt shows its number, what was sent (masked) and the pre-review
    form.get_by_role("button", name="提交申请").click()
    receipt = page.locator(".dbw-receipt")
    receipt.wait_for(timeout=WAIT)
    number = receipt.locator(".no").inner_text().strip()
    assert re.fullmatch(r"[A-Z]+\d{10,}", number)
    assert receipt.locator("dd.review").inner_text() == "通过"
    shown = {dd.get_attribute("data-key"): dd.inner_text() for dd in receipt.locator("dd[data-key]").all()}
    assert shown["agent_phone"] == PHONE[:3] + "****" + PHONE[-4:]
    assert shown["subject_id_number"] == FATHER_ID[:3] + "*" * 11 + FATHER_ID[-4:]
    assert shown["agent_id_number"] == OWN_ID[:3] + "*" * 11 + OWN_ID[-4:]
    assert shown["subject_name"] == "张**" and shown["applies_for"] == "代他人办理"
    text = receipt.inner_text()
    assert FATHER_ID not in text and OWN_ID not in text and PHONE not in text and "张建国" not in text
    assert page.evaluate("document.activeElement.classList.contains('dbw-receipt')")
    receipt.screenshot(path=str(SHOTS / "widget-receipt.png"))

    # the server's side: staff see the pre-review kept with it; the stored values are the corrected ones
    staff = httpx.get(f"{api_server.url}/v1/hotline/submissions/{number}", headers={"X-API-Key": STAFF_KEY}).json()
    assert staff["review_status"] == "pass" and staff["form_id"] == f"{FORM_MATTER}-form"
    assert staff["review"]["items"] and all(i["severity"] == "prepare" for i in staff["review"]["items"])
    assert FATHER_ID not in json.dumps(staff, ensure_ascii=False)
    from api.crypto import Vault, load_key

    [(sealed,)] = api_server.sql("SELECT values_enc FROM submissions WHERE receipt_no = :n", n=number)
    stored = json.loads(Vault(load_key(api_server.settings())).decrypt(sealed))
    assert stored["agent_phone"] == PHONE and stored["ethnicity"] == "汉族" and stored["agent_id_number"] == OWN_ID
    assert stored["subject_name"] == "张建国" and stored["subject_id_number"] == FATHER_ID
    assert stored["agent_name"] == "张明" and stored["applies_for"] == "代他人办理"
    assert stored["situation"] and stored["delivery"] == "窗口领取"
    # nothing personal of this application in the server's log
    logged = api_server.log()
    assert number in logged or "submitted" in logged  # the log is the one this server writes
    for value in (FATHER_ID, OWN_ID, WRONG_PHONE, PHONE):
        assert value not in logged, "a personal value reached the server log in clear"


@ON_SQLITE
def test_widget_form_follows_its_choices_without_losing_what_was_typed(page, api_server):
    """本人办理 ↔ 代他人办理 brings the 代办人's fields in and the subject's own phone out, and back: drawn in place,
    the focus where it was, a value typed but not saved yet kept. (Before, 本人办理 chosen in the form made 联系电话
    required with no field to type it in.)"""
    page.goto(api_server.url + "/")
    page.get_by_role("button", name="打开一件事智能导办").click()
    _wait_answer(page, 1)
    page.locator(".dbw-input textarea").fill("我要申请居民身份证换领，电话13912345608")
    page.keyboard.press("Enter")
    form = page.locator(".dbw-form")
    form.wait_for(timeout=WAIT)
    how = form.get_by_label("办理方式")
    assert how.input_value() == "本人办理"
    own_phone = form.get_by_role("textbox", name="联系电话", exact=True)
    assert own_phone.input_value() == "13912345608" and own_phone.get_attribute("aria-required") == "true"
    assert form.locator('.dbw-field[data-key="agent_name"]').count() == 0
    form.get_by_role("textbox", name="民族", exact=True).fill("回族")  # typed, not saved yet (still in the box)
    how.select_option("代他人办理")
    how.focus()
    agent = form.get_by_role("textbox", name="代办人姓名", exact=True)
    agent.wait_for(timeout=WAIT)
    assert agent.get_attribute("aria-required") == "true"
    assert form.locator('.dbw-field[data-key="subject_phone"]').count() == 0  # the 代办人's phone is asked instead
    assert form.get_by_role("textbox", name="民族", exact=True).input_value() == "回族"
    assert page.evaluate("document.activeElement.name") == "applies_for"
    how.select_option("本人办理")
    own_phone.wait_for(timeout=WAIT)  # back, to be typed: the draft drops a value while its field is off the form
    assert own_phone.get_attribute("aria-required") == "true"
    form.locator('.dbw-field[data-key="agent_name"]').wait_for(state="detached", timeout=WAIT)
