"""agent.privacy: every written form of an ID number or a mobile is masked, ordinary numbers are not,
names beside them are masked, and every log record of the process is masked (issue 13)."""
from __future__ import annotations

import datetime as dt
import io
import logging
import re
from urllib.parse import quote, unquote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.privacy import MaskingFilter, install_log_masking, load_name_words, mask

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- generated personal numbers ----------------------------------------------------------------

WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def id_number(region: int, birth: dt.date, seq: int) -> str:
    """An 18-digit ID with its GB 11643-1999 check character (ISO 7064 MOD 11-2), computed here."""
    body = f"{region:06d}{birth:%Y%m%d}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11]


ids = st.builds(id_number, st.integers(110000, 659999),
                st.dates(dt.date(1930, 1, 1), dt.date(2025, 12, 31)), st.integers(0, 999))
mobiles = st.builds(lambda second, rest: f"1{second}{rest:09d}", st.sampled_from("3456789"),
                    st.integers(0, 10 ** 9 - 1))

FULLWIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
SPOKEN = {"0": "零〇", "1": "一幺", "2": "二两", "3": "三", "4": "四", "5": "五", "6": "六", "7": "七",
          "8": "八", "9": "九", "X": "X"}
# Chinese text around the number: words, punctuation and spoken digits too (一件事, 三个月).
AROUND = "我要办理新生儿出生一件事请问需要什么材料的身份证号码是电话手机联系办个证明三个月，。：（）、 "
around = st.text(alphabet=AROUND, max_size=12)


def grouped(digits: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for size in sizes:
        out.append(digits[i:i + size])
        i += size
    return sep.join(out + ([digits[i:]] if digits[i:] else []))


@st.composite
def written(draw, number: str, kind: str) -> tuple[str, bool]:
    """``number`` as a person might write it, and whether it is URL-encoded."""
    sep = draw(st.sampled_from([" ", "-", ".", "  ", " - "]))
    forms = {
        "plain": lambda: number,
        "latin prefix": lambda: draw(st.sampled_from(["ID", "id:", "Tel", "tel:", "No."])) + number,
        "groups": lambda: grouped(number, [6, 8] if kind == "id" else [3, 4], sep),
        "groups of 4": lambda: grouped(number, [4, 4, 4, 4] if kind == "id" else [4, 4], sep),
        "spaced digits": lambda: " ".join(number),
        "full-width": lambda: number.translate(FULLWIDTH),
        "spoken": lambda: "".join(draw(st.sampled_from(SPOKEN[c])) for c in number.upper()),
        "lowercase x": lambda: number.lower(),
        "url": lambda: "/v1/search?q=" + quote(draw(st.sampled_from(["身份证", "电话", "我的号码", ""])) + number),
    }
    if kind == "mobile":
        forms["+86"] = lambda: draw(st.sampled_from(["+86 ", "+86", "+86-", "0086 ", "86 "])) + grouped(
            number, [3, 4], draw(st.sampled_from(["", " ", "-"])))
    name = draw(st.sampled_from(sorted(forms)))
    return forms[name](), name == "url"


def digits_of(text: str) -> str:
    """Digits (and stars) of ``text`` with separators and the written forms normalised away."""
    text = text.translate(str.maketrans("０１２３４５６７８９Ｘｘ零〇一幺二两三四五六七八九",
                                        "0123456789Xx0011223456789"))
    return re.sub(r"[^0-9Xx*]", "", text).upper()


def assert_hidden(number: str, before: str, shown: str, after: str, url: bool) -> None:
    text = before + shown + after
    out = mask(text)
    # Masking keeps the length, so the number's own stretch can be read back; a URL is decoded first.
    region = digits_of(unquote_plus(out)) if url else digits_of(out[len(before):len(before) + len(shown)])
    number = number.upper()
    assert number not in region, (text, out)
    runs = {number[i:i + 8] for i in range(len(number) - 7)}
    assert not any(r in region for r in runs), (text, out)
    assert mask(out) == out  # idempotent: a log filter may see a record twice


@FAST
@given(ids, around, around, st.data())
def test_id_numbers_in_any_written_form_are_masked(number, before, after, data):
    shown, url = data.draw(written(number, "id"))
    assert_hidden(number, before, shown, after, url)


@FAST
@given(mobiles, around, around, st.data())
def test_mobiles_in_any_written_form_are_masked(number, before, after, data):
    shown, url = data.draw(written(number, "mobile"))
    assert_hidden(number, before, shown, after, url)


def test_forms_reported_in_the_issue():
    cases = {
        "ID370102198807012319": "ID3701**********2319",
        "Tel13805311234": "Tel138****1234",
        "370102-19880701-2319": "3701**-********-2319",
        "3701 0219 8807 0123 19": "3701 **** **** **23 19",
        "３７０１０２１９８８０７０１２３１９": "３７０１**********２３１９",
        "138.0531.1234": "138.****.1234",
        "138 0531 1234": "138 **** 1234",
        "138-0531-1234": "138-****-1234",
        "+86 138 0531 1234": "+86 138 **** 1234",
        "1 3 8 0 5 3 1 1 2 3 4": "1 3 8 * * * * 1 2 3 4",
        "电话幺三八零五三一幺二三四": "电话幺三八****幺二三四",
        "一三八零五三一两二三四": "一三八****两二三四",
        "37010219880701231x": "3701**********231x",
        "/v1/search?q=%E8%BA%AB%E4%BB%BD%E8%AF%81370102198807012319":
            "/v1/search?q=%E8%BA%AB%E4%BB%BD%E8%AF%813701**********2319",
    }
    for text, want in cases.items():
        assert mask(text) == want, text


def test_the_api_masks_with_the_same_function():
    import api.crypto
    import api.records

    text = "张三（身份证370102198807012319），电话 138 0531 1234"
    assert api.records.mask is mask and not hasattr(api.crypto, "mask")  # one masking, owned by agent.privacy
    assert mask(text) == "张*（身份证3701**********2319），电话 138 **** 1234"


def test_masking_kept_for_uscc_bank_cards_and_landlines():
    assert mask("统一社会信用代码91370100MA3C4XY2X1") == "统一社会信用代码913701********Y2X1"
    assert mask("卡号6222020200001234567") == "卡号6222***********4567"
    assert mask("卡号 6222 0202 0000 1234 567") == "卡号 6222 **** **** ***4 567"
    assert mask("座机0531-88889999") == "座机0531-****9999"


# --- ordinary numbers stay readable ----------------------------------------------------------

dates = st.dates(dt.date(1949, 1, 1), dt.date(2100, 12, 31))
ordinary = st.one_of(
    dates.map(lambda d: f"{d.year}年{d.month}月{d.day}日"),
    dates.map(lambda d: f"{d.year}年{d.month}月"),
    st.builds(lambda d, f: d.strftime(f), dates, st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"])),
    st.integers(1, 99_999_999).map(lambda n: f"{n}元"),
    st.integers(1, 9_999_999).map(lambda n: f"{n:,}.{n % 100:02d}元"),
    st.integers(1, 365).map(lambda n: f"{n}个工作日"),
    st.integers(1, 120).map(lambda n: f"{n}岁"),
    st.builds(lambda d, n: f"YJS{d:%Y%m%d}{n:08d}", dates, st.integers(0, 10 ** 8 - 1)),
    st.just("12345"), st.just("0531-12345"),
)


@FAST
@given(st.lists(ordinary, min_size=1, max_size=4), st.text(AROUND.strip(), min_size=1, max_size=8))
def test_ordinary_numbers_are_left_alone(numbers, words):
    text = words.join(numbers)  # joined by words: two numbers run together would be one number
    assert mask(text) == text


def test_receipts_issued_by_the_forms_router_stay_readable():
    from api.routers.forms import new_receipt_no

    for i in range(200):
        receipt = new_receipt_no(dt.datetime(2026, 12, 2) + dt.timedelta(days=i))
        assert mask(f"受理编号 {receipt}，办件编号{receipt}") == f"受理编号 {receipt}，办件编号{receipt}"


# --- names beside numbers ----------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑"
GIVEN = "丽建国伟芳娜敏静秀英华慧巧美娟霞刚桂兰明磊洋涛"
TEMPLATES = ["{name}（身份证{id}）", "我叫{name}，电话{phone}", "联系人：{name} {phone}", "姓名：{name}，身份证号：{id}",
             "申请人{name}，手机{phone}", "我是{name}，我的身份证号码是{id}", "名字是{name}。电话 {phone}"]


@FAST
@given(st.sampled_from(SURNAMES), st.text(GIVEN, min_size=1, max_size=2), st.sampled_from(TEMPLATES), ids, mobiles)
def test_a_name_beside_an_id_or_phone_is_masked(surname, given_name, template, number, phone):
    name = surname + given_name
    out = mask(template.format(name=name, id=number, phone=phone))
    assert surname + "*" * len(given_name) in out, out
    assert name not in out


def test_names_in_the_issue_and_names_alone():
    assert mask("张三（身份证370102198807012319）") == "张*（身份证3701**********2319）"
    assert mask("我叫王丽，电话13912345678") == "我叫王*，电话139****5678"
    assert mask("联系人：李建国 13912345678") == "联系人：李** 139****5678"
    assert mask("欧阳娜娜 13912345678") == "欧阳** 139****5678"
    for text in ("我叫王丽，想问新生儿出生一件事", "联系人：李建国", "张三来办事，办理时限15个工作日"):
        assert mask(text) == text  # no number near: a name alone is not masked
    assert mask("林业局电话13912345678") == "林业局电话139****5678"  # an office, not a person
    assert mask("申请人姓名：孙晓雯，手机13912345678") == "申请人姓名：孙**，手机139****5678"


def test_name_words_file_reports_file_and_line(tmp_path):
    path = tmp_path / "privacy.yaml"
    path.write_text("name_cues: [我叫]\nnumber_labels: [电话]\nnot_name_endings: 局\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}:3: not_name_endings"):
        load_name_words(path)
    path.write_text("name_cues: [我叫\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"privacy.yaml:\d+: YAML syntax error"):
        load_name_words(path)
    assert load_name_words().name_cues  # the shipped file is valid


# --- logging ------------------------------------------------------------------------------------

@pytest.fixture
def masked_logging():
    """install_log_masking() for one test; the process's record factory is restored afterwards."""
    factory = logging.getLogRecordFactory()
    install_log_masking()
    install_log_masking()  # idempotent: one wrapper, one filter per handler
    yield
    logging.setLogRecordFactory(factory)


def capture(logger: logging.Logger, formatter: logging.Formatter | None = None) -> io.StringIO:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter or logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return stream


def test_every_logger_is_masked_including_child_loggers_and_exceptions(masked_logging):
    ident, phone = "370102198807012319", "13805311234"
    root, child = logging.getLogger(), logging.getLogger("daoban.agent.intent")
    old = (root.level, child.level, child.propagate, list(root.handlers), list(child.handlers))
    root.setLevel(logging.INFO)
    child.setLevel(logging.INFO)
    child.propagate = False  # its own handler only: no filter of any parent applies
    root_out, child_out = capture(root), capture(child)
    try:
        logging.getLogger("some.library").info("申请人%s，身份证%s", "王丽", ident)  # name and number apart
        child.info("phone %s, id %s, count %d, ratio %.2f", phone, ident, 3, 0.5)
        child.warning("as a number: %d and %s", int(phone), int(phone))
        child.info("Tel%s", "138 0531 1234")
        child.info({"phone": phone})
        try:
            raise ValueError(f"bad id {ident} for {phone}")
        except ValueError as exc:
            child.exception("failed for %s: %s", phone, exc)
    finally:
        root.setLevel(old[0])
        child.setLevel(old[1])
        child.propagate = old[2]
        root.handlers[:], child.handlers[:] = old[3], old[4]
    text = root_out.getvalue() + child_out.getvalue()
    assert "申请人王*，身份证3701**********2319" in root_out.getvalue()
    assert "count 3, ratio 0.50" in child_out.getvalue()  # %d and %.2f still get numbers
    assert "Traceback" in child_out.getvalue() and "ValueError: bad id 3701**********2319" in text
    for secret in (ident, phone, "0531 1234", "王丽"):
        assert secret not in text, text


def test_install_is_idempotent(masked_logging):
    factory = logging.getLogRecordFactory()
    install_log_masking()
    assert logging.getLogRecordFactory() is factory
    root = logging.getLogger()
    for handler in root.handlers:
        assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1


def test_uvicorn_access_log_keeps_its_shape_and_masks_the_query(masked_logging):
    uvicorn_logging = pytest.importorskip("uvicorn.logging")
    access = logging.getLogger("uvicorn.access")
    old = (access.level, access.propagate, list(access.handlers))
    access.setLevel(logging.INFO)
    access.propagate = False
    plain = capture(access)
    formatted = capture(access, uvicorn_logging.AccessFormatter(
        '%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/v1/search?q=%E8%BA%AB370102198807012319&tel=138%200531%201234", "1.1", 200)
    finally:
        access.setLevel(old[0])
        access.propagate = old[1]
        access.handlers[:] = old[2]
    for out in (plain.getvalue(), formatted.getvalue()):
        assert "370102198807012319" not in out and "0531%201234" not in out, out
        assert "3701**********2319" in out and "127.0.0.1:5000" in out and "200" in out, out


def test_masking_filter_alone_on_a_handler():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    log = logging.getLogger("test.privacy.filter")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("phone %s", "138-0531-1234")
    finally:
        log.removeHandler(handler)
    assert stream.getvalue() == "phone 138-****-1234\n"
