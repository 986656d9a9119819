"""Voice questions in the widget, end to end in headless Chromium: Chromium's fake microphone plays a WAV made
here, the widget records it (MediaRecorder), sends it to the real daoban server, which forwards it to the scripted
ASR server (tests/scripted_asr.py); the transcript lands in the input box, is edited, sent, and answered with
citations. Without an ASR server the microphone is not shown."""
from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from conftest_api import SCENARIO, api_server  # noqa: F401
from conftest_asr import MAX_SECONDS, voice_stack  # noqa: F401
from scripted_asr import wav_bytes, wav_rms
from test_pages_browser import ARGS, CHROMIUM, SHOTS, WAIT, _wait_answer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ON_SQLITE = pytest.mark.parametrize("api_server", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def voice_browser(tmp_path_factory):
    """Chromium whose microphone is a 440 Hz tone from a WAV file (the permission prompt answered yes)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run scripts/setup.sh --browser (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    tone = tmp_path_factory.mktemp("voice") / "tone.wav"
    tone.write_bytes(wav_bytes(3.0, rate=48_000, amplitude=0.5))
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=[*ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                    f"--use-file-for-fake-audio-capture={tone}", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


@pytest.fixture
def voice_page(voice_browser):
    context = voice_browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, errors


def _open_widget(page, url: str) -> None:
    with page.expect_response(lambda r: r.url.endswith("/v1/asr") and r.request.method == "GET", timeout=WAIT):
        page.goto(url + "/")
    page.get_by_role("button", name="打开一件事智能导办").click()
    _wait_answer(page, 1)  # the greeting


@ON_SQLITE
def test_without_an_asr_server_the_widget_shows_no_microphone(voice_page, api_server):
    _open_widget(voice_page, api_server.url)
    voice_page.locator(".dbw-input textarea").wait_for()
    assert voice_page.locator(".dbw-mic").count() == 0
    assert voice_page.get_by_role("button", name="语音输入").count() == 0


def _record(page, stop_after_s: float | None, shot: str | None = None, wait_stopped: bool = True) -> None:
    """Click the microphone, see the recording state, and stop it by a second click (or let the limit stop it)."""
    mic = page.get_by_role("button", name="语音输入")
    mic.click()
    page.wait_for_function("() => document.querySelector('.dbw-mic').getAttribute('aria-pressed') === 'true'",
                           timeout=WAIT)
    status = page.locator(".dbw-voice[role=status]")
    assert "正在录音" in status.inner_text() and status.is_visible()
    assert page.get_by_role("button", name="语音输入", pressed=True).count() == 1  # a toggle, announced as pressed
    if shot:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / shot))
    if stop_after_s is not None:
        page.wait_for_timeout(stop_after_s * 1000)
        page.get_by_role("button", name="语音输入", pressed=True).click()
    if not wait_stopped:
        return
    page.wait_for_function("() => document.querySelector('.dbw-mic').getAttribute('aria-pressed') === 'false'",
                           timeout=WAIT)


def test_a_spoken_question_goes_from_the_microphone_to_a_cited_answer(voice_page, voice_stack):
    page, server, asr = voice_page, voice_stack.server, voice_stack.asr
    title = httpx.get(f"{server.url}/v1/matters/{SCENARIO}").json()["title"]
    # as a recogniser writes it: 新生儿 heard as its homophone 新身儿, which the agent reads back
    asr.transcript = "新身儿出生一件事要带什么"
    before = len(asr.uploads)
    _open_widget(page, server.url)
    box = page.locator(".dbw-input textarea")

    _record(page, stop_after_s=2.0, shot="widget-voice-recording.png")
    page.wait_for_function("t => document.querySelector('.dbw-input textarea').value === t", arg=asr.transcript,
                           timeout=WAIT)
    assert "请核对" in page.locator(".dbw-voice").inner_text()
    assert box.evaluate("el => el === document.activeElement")  # ready to edit
    assert page.locator(".dbw-msg.user").count() == 0  # never sent by itself
    page.screenshot(path=str(SHOTS / "widget-voice-transcript.png"))

    # what the ASR server received: the fake microphone's tone, recorded, as 16 kHz mono WAV of about 2 s
    assert len(asr.uploads) == before + 1
    upload = asr.uploads[-1]
    assert upload.content_type == "audio/wav" and upload.fields["language"] == "zh"
    rms, rate, channels = wav_rms(upload.audio)
    seconds = (len(upload.audio) - 44) / (2 * rate)
    assert (rate, channels) == (16_000, 1)
    assert 1.0 <= seconds <= 3.5, seconds
    assert rms > 0.05, rms  # sound, not silence: the tone came through the microphone

    # the speaker edits the transcript, then sends it as a typed message
    box.press("End")
    box.type("材料")
    box.press("Enter")
    _wait_answer(page, 2)
    assert page.locator(".dbw-msg.user .dbw-b").last.inner_text() == "新身儿出生一件事要带什么材料"
    answer = page.locator(".dbw-msg.bot .dbw-b").last
    assert title in answer.locator(".dbw-route").inner_text()  # the homophone read back: the right 一件事
    assert answer.locator(".dbw-cites a").count() >= 1
    assert re.search(r"/guide/[a-z0-9-]+#.+", answer.locator(".dbw-cites a").first.get_attribute("href"))

    # a recording left running stops itself at the limit and is transcribed
    asr.transcript = "社保卡怎么补办"
    _record(page, stop_after_s=None)
    page.wait_for_function("t => document.querySelector('.dbw-input textarea').value === t", arg=asr.transcript,
                           timeout=WAIT)
    rms, rate, _ = wav_rms(asr.uploads[-1].audio)
    seconds = (len(asr.uploads[-1].audio) - 44) / (2 * rate)
    assert MAX_SECONDS - 1.0 <= seconds <= MAX_SECONDS, seconds
    assert page.locator(".dbw-msg.user").count() == 1  # still not sent


def test_an_asr_failure_is_told_and_typing_still_works(voice_page, voice_stack):
    page, server, asr = voice_page, voice_stack.server, voice_stack.asr
    _open_widget(page, server.url)
    asr.status = 500
    try:
        _record(page, stop_after_s=1.0)
        status = page.locator(".dbw-voice")
        page.wait_for_function("() => document.querySelector('.dbw-voice').textContent.includes('语音识别服务出错')",
                               timeout=WAIT)
        assert "err" in status.get_attribute("class")
    finally:
        asr.status = 200
    assert page.locator(".dbw-input textarea").input_value() == ""
    mic = page.get_by_role("button", name="语音输入")
    assert mic.get_attribute("aria-disabled") == "false" and not mic.is_disabled()  # ready to try again


def test_closing_the_window_ends_a_recording_without_sending_it(voice_page, voice_stack):
    page, asr = voice_page, voice_stack.asr
    _open_widget(page, voice_stack.server.url)
    before = len(asr.uploads)
    _record(page, stop_after_s=None, wait_stopped=False)
    page.keyboard.press("Escape")  # closes the window
    page.wait_for_function("() => document.querySelector('.dbw-mic').getAttribute('aria-pressed') === 'false'",
                           timeout=WAIT)
    page.wait_for_timeout(1500)  # time enough for an upload, were one made
    assert len(asr.uploads) == before
    assert page.locator(".dbw-panel").is_hidden()
