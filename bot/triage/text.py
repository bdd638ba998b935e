"""Text scanning shared by the red-flag screen and free-text extraction.

A message is normalised (:func:`bot.text.normalise.normalise`), split into
clauses at punctuation and contrast words ("但是", "就是", "but"), and every
phrase match gets a status from its clause:

* ``negated``: a negation cue shortly before it in the same clause
  ("没有胸痛", "no chest pain", "I don't have a fever");
* ``history``: the clause talks about the past and nothing in it says "now"
  ("我爸三年前中风过", "my dad had a stroke years ago");
* ``question``: an information question ("心梗有什么症状",
  "what are the signs of a stroke?") or a question about nobody in particular;
* ``unreal``: after a dream, a film or the news in the same clause, with no waking
  up in between ("梦见自己中风了", "dreamt i had a heart attack", "看新闻说有人触电了"),
  or about an animal ("我家狗刚才抽风了", "our hamster is breathing fast"; a clause with no
  person of its own continues it: "金毛被车撞了 腿流血");
* ``present`` otherwise.

Everything is compiled once at import; scanning does no I/O.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, replace
from functools import cached_property

# re-exported: the learned layer imports it from here, and its source files are part
# of its model's fingerprint (moving the import would rebuild an identical model)
from bot.text.normalise import normalise  # noqa: F401

PRESENT, NEGATED, HISTORY, QUESTION = "present", "negated", "history", "question"
UNREAL = "unreal"  # dreamt, seen in a film or the news: nothing happened to anyone here

_CLAUSE_SPLIT = re.compile(
    r"[,!?;:。！？；\n]|(?<!\d)\.|\.(?!\d)"
    r"|但是|但|就是|(?<!喘)(?<!说)(?<!受)不过(?!来|气)|只是|可是|然而|而是"
    r"|\bbut\b|\bhowever\b|\bthough\b|\bexcept\b|\bapart from\b"
    # a question ended by 吗 and a space before what follows, in WeChat style: "复查的时候能顺便
    # 说吗 昨晚突然剧烈头痛" asks, then tells (the telling is no question)
    r"|(?<=吗)\s+(?=[\u3400-\u9fff])"
)
_ZH_NEGATION = re.compile(
    r"没有(?!办法|力气|胃口|精神|用|意识|反应|知觉)|没(?!法|办法|力气|胃口|反应|精神|知觉|意识|事|完|注意|留意|留神|看住)"
    r"|(?<!是)不(?!怎么|停|止|断|了|行|出|住|下|上|动|清|舒服|知道|到|起|能|见|醒|开|过|省|退|褪|变|消|适|少|太|想活|小心|注意|留神)"
    r"|无(?!力|法|意识|反应|知觉)|未|否认|并非|排除"
)
_EN_NEGATION = re.compile(
    r"\b(no|not(?! sure| able)|never|without|denies|deny|free of|negative for|nor"
    r"|don'?t(?! know)|doesn'?t|didn'?t|haven'?t|hasn'?t|hadn'?t|isn'?t|wasn'?t|aren'?t"
    r"|weren'?t|no longer)\b"
)
_ZH_NEGATION_WINDOW = 8  # characters between the cue and the phrase
_EN_NEGATION_WINDOW = 40
_HISTORY = re.compile(
    r"以前(?!\s*(从来|从|都|也)?\s*(没|不|未))|从前|曾经|既往|病史|去年|前年|(?<!\d)\d+\s*年前|(?<![一二两三四五六七八九十几多])[一二两三四五六七八九十几多]+年前"
    r"|小时候|年轻时|(上|读|念)?(大学|高中|初中|中学|小学)(的)?(时候|时|那会)|走出来了?|从小|天生|生下来就|得过|患过|过世|去世|已经好了|已经康复|早就好了|复查|随访|复诊|出院"
    r"|上个月|上个礼拜|上礼拜|上周|上星期|上次|过去(了)?\s*(\d+|[一二两三四五六七八九十几半]+)\s*个?(月|年|周|星期)了"
    r"|\b(years?|yrs?|months?|mos?|weeks?|wks?|decades?) ago\b|\blast (year|month|week)\b|\bin (19|20)\d\d\b"
    r"|\bhistory of\b|\b(seizure|fit|symptom)[- ]free\b|\bwhen (i|he|she|they) (was|were) (\d+|a baby|a toddler)\b"
    r"|\bused to\b|\bpreviously\b|\bin the past\b|\bas a (child|kid|teenager)\b"
    r"|\bwhen (i|he|she) was (young|little|a kid|a child)\b|\bfollow[- ]?up\b|\bcheck[- ]?up\b"
    r"|\brecovered\b|\bpassed away\b|\bdied\b"
    r"|\bin the (19|20)?\d0'?s\b|\bin the (sixties|seventies|eighties|nineties)\b"
    r"|\blast (summer|winter|spring|autumn|fall|christmas|time)\b|\bsince birth\b|\bborn with\b"
    r"|\bsince\b(?=[^.,;!?]{0,40}\b(years?|decades?) ago\b)"
    r"|(?<!at )(?<!for )\bonce\b(?! (i|you|he|she|we|they|it|the|a|my|your|more|again)\b)"
)
_CURRENT = re.compile(
    r"现在(?!已经|都|没事|好了|好多了|康复|恢复|正常)|刚才|刚刚|正在|突然|一直|还在|今天|今早|今晚|昨晚|昨天|这两天|此刻|又|开始|以来"
    r"|(?<!fine )(?<!okay )(?<!ok )(?<!better )(?<!normal )\bnow\b(?! (fine|ok|okay|better|recovered|normal))|\bjust now\b|\bcurrently\b|\bsuddenly\b|\bstill\b|\btoday\b|\btonight\b"
    r"|\bthis (morning|afternoon|evening)\b|\bagain\b|\bat the moment\b|\bstarted\b"
    r"|\bwoke up\b|\bright now\b|\bsince\b(?![^.,;!?]{0,40}\b(years?|decades?) ago\b)|醒来|起床"
)
_INFO_QUESTION = re.compile(
    r"什么症状|哪些症状|症状是什么|症状有哪些|有什么表现|什么表现|有哪些表现|怎么预防|如何预防"
    r"|怎么判断|如何判断|怎么识别|如何识别|是什么病|什么意思|科普|急救方法|怎么急救|如何急救|前兆|先兆"
    r"|\bwhat are the (symptoms|signs)\b|\bwarning signs\b|\bhow (to|do you|do i|can you|can i|would i) "
    r"(prevent|recogni[sz]e|spot|tell|know if)\b|\bwhat (is|are|causes)\b"
    r"|\bexplain what\b[^.?!]{0,40}\b(is|are|means?)\b"
)
# 呢 asks only at the end ("怎么办呢"); inside a sentence it means "while" ("正蹲厕所呢 头突然…")
# 什么 after 被/像 or before 东西 is "something" ("被什么堵住了"), not "what"
_ZH_QUESTION = re.compile(r"(?<![被像])什么(?!东西)|(?<![没不])怎么|如何|哪些|哪里|吗|呢(?=\s*$)|是否|会不会|能不能|要不要|是不是|多少|为什么")
_EN_QUESTION = re.compile(
    r"^(what|how|why|which|when|is|are|does|do|should|could|would|will)\b"
    r"|^can (i|you|a|an|the|it|he|she|we|they|this|that|chest|stroke)\b"
)
_ANCHOR = re.compile(
    r"我|咱|俺|孩子|宝宝|宝贝|婴儿|女儿|儿子|闺女|老公|老婆|爱人|丈夫|妻子|爸|妈|爷爷|奶奶|外婆|外公"
    r"|姥姥|姥爷|父亲|母亲|朋友|同事|他|她|家人|老人"
    r"|\b(i|i'm|im|i've|i'd|me|my|mine|we|our|us|he|she|his|her|him|son|daughter|baby|child"
    r"|kid|wife|husband|mum|mom|dad|father|mother|grandma|grandpa|friend|partner)\b"
)
# a dream, a film, the news: what follows in the clause happened to nobody here,
# unless the patient woke up in between ("做噩梦惊醒后胸口剧痛" is real)
_UNREAL = re.compile(
    r"梦见|梦到|做梦|噩梦|梦里|电影里|电视剧|电视上|小说里|新闻|短视频里?|抖音上"
    # a video somebody watched ("看视频", "视频里有个人"); "视频里看我爸不太对", "我爸刚才视频里
    # 一直捂着胸口" are video calls with family, and real
    r"|(?:看|刷|网上的?|抖音|快手|b站的?|这个|那个|一个|条)视频(?:里|上)?"
    r"|视频里(?=\s*(?:有个?人|一个人|那个人|的人|演员|主播|博主))"
    r"|\bdream(t|ed|s|ing)?\b|\bnightmares?\b"
    r"|\bin (the|a|that|this) ((hospital|medical|tv|crime|cop) )?(movie|film|show|series|drama|book|novel|video|game)\b"
    r"|\bon (tv|the news)\b|\bthe character\b|\bin the news\b|\bnews (said|says|story|report)\b"
    r"|\b(my|his|her|our|their) character\b|\bin (the|a|our|my|his|her) (play|musical|drama|scene|sketch|script)\b"
    r"|\b(writing|write|wrote|reading) (a|my|the) (crime |detective |murder )?(novel|story|book|script|screenplay)\b"
    r"|演戏|拍戏|剧本里|剧里|戏里|角色")
# an animal as the one the clause is about ("我家狗刚才抽风了", "my dog just had a seizure");
# a person named after it takes over ("my dog bit my son, he is bleeding"), and an animal
# that bit, scratched or knocked someone over is not the patient ("被狗咬了", "dog bite")
_PET = re.compile(
    r"狗狗|小狗|狗子|狗|猫咪|小猫|猫|金毛|泰迪|柯基|哈士奇|拉布拉多|比熊|柴犬|边牧|仓鼠|兔子|鹦鹉|宠物|乌龟|荷兰猪"
    r"|\b(dogs?|pupp(y|ies)|cats?|kittens?|kitty|hamsters?|rabbits?|bunny|bunnies|parrots?|budgies?"
    r"|guinea pigs?|pets?|tortoise|turtle|labrador|retriever|spaniel|terrier|poodle)\b")
_PET_AGENT = re.compile(r"\s*(咬|抓|挠|扑|毛|过敏|撞倒|撞了?我|\bbit\b|\bbites?\b|\bbitten\b|\bbiting\b|\bscratch"
                        r"|\battack|\bjumped on\b|\bknocked\b|\bhair\b|\bdander\b|\ballerg)")
_BY_PET = re.compile(r"(被|让|给|\bby (a|the|my|our|his|her)\b)\s*$")
# an animal that is the object of what a person does ("遛狗的时候", "walking the dog")
_WITH_PET = re.compile(r"(遛|喂|撸|养|抱|带|陪|逗|跟|和|给|训|对|怕|摸)(着|了)?(一?[只条])?\s*$"
                       r"|\b(walk\w*|feed\w*|fed|petting|with|and|took|take|taking|brush\w*|bath\w*|to|of|from|at"
                       r"|about|around|near"
                       r"|play\w*)\s+((the|my|our|his|her|a|an|some)\s+)?$")
_PERSON = re.compile(
    r"我(?!家|们家|的|们的|养的)|咱(?!家|们家)|俺(?!家)|孩子|宝宝|婴儿|女儿|儿子|闺女|老公|老婆|爱人|丈夫|妻子|爸|妈|爷爷"
    r"|奶奶|外婆|外公|姥姥|姥爷|他|她(?!的)|人"
    r"|\b(i|i'm|im|i've|i'd|me|he|she|him|son|daughter|baby|child|kid|wife|husband|mum|mom|dad"
    r"|father|mother|grandma|grandpa|friend|partner)\b")
_AWAKE = re.compile(r"醒|现在|\bwoke\b|\bwake\b|\bawake\b|\bnow\b")
_UNREAL_WINDOW = 40
# "chest pain? no." : a symptom asked about and denied at once
_BARE_DENIAL = re.compile(r"(no|nope|none|nah|not really|negative|没有|没|无|不是|否)[.!。！~]*")
_ZH_HISTORY_SUFFIX = re.compile(r"过(?!敏|来|去|了?一会|度|多|量|于|分|头|夜)")


@dataclass(frozen=True)
class Clause:
    """One clause of a normalised message and what it says about time and mood."""

    text: str
    start: int
    interrogative: bool
    anchored: bool
    inherits_history: bool = False
    question_mark: bool = False  # the clause ended with "?"
    denied: bool = False  # asked and denied at once ("chest pain? no.")
    inherits_animal: bool = False  # continues a clause about an animal, naming no person

    def _animal_at(self, pos: int) -> bool:
        """The last one named before ``pos`` in this clause is an animal (a pet that
        is itself the patient), or nobody is named and the clause continues one."""
        last_pet = max((m.end() for m in _PET.finditer(self.text, 0, pos)
                        if _is_patient_pet(self.text, m)), default=-1)
        last_person = max((m.end() for m in _PERSON.finditer(self.text, 0, pos)), default=-1)
        if last_pet < 0 and last_person < 0:
            return self.inherits_animal
        return last_pet > last_person

    @cached_property
    def _history_cues(self) -> list[int]:
        return [m.start() for m in _HISTORY.finditer(self.text)]

    @cached_property
    def _current_cues(self) -> list[int]:
        return [m.start() for m in _CURRENT.finditer(self.text)]

    def _history_at(self, pos: int) -> bool:
        """The time cue nearest to ``pos`` is a past one ("years ago", "以前"); a
        "now" cue as near wins. Cues are found once per clause (a clause may hold
        thousands of mentions)."""
        if not self._history_cues:
            return self.inherits_history
        return _distance(self._history_cues, pos) < _distance(self._current_cues, pos)

    def speaks_of_now(self) -> bool:
        """Something in this clause is present: read at its start or at any of its
        "now" cues ("复诊能不能提前 … 今天连说话都喘" asks about a follow-up visit, then
        tells what happens today)."""
        return any(self.status(pos, len(self.text)) == PRESENT
                   for pos in (0, *self._current_cues))

    def status(self, start: int, end: int, anchor: int | None = None) -> str:
        """Status of a match at ``[start, end)`` (offsets within this clause).

        Negation is looked for before ``start``; time cues are measured from
        ``anchor`` (the match start, by default).
        """
        if self.denied or _negated(self.text, start):
            return NEGATED
        if _unreal(self.text, start) or self._animal_at(start):
            return UNREAL
        if self._history_at(start if anchor is None else anchor) or _ZH_HISTORY_SUFFIX.match(
                self.text, end):
            return HISTORY
        if self.interrogative:
            return QUESTION
        return PRESENT


def _distance(positions: list[int], pos: int) -> float:
    """Distance from ``pos`` to the nearest of the sorted ``positions`` (inf if none)."""
    i = bisect_left(positions, pos)
    near = positions[max(i - 1, 0):i + 1]
    return min((abs(p - pos) for p in near), default=float("inf"))


_NEGATION_LOOKBACK = 40  # more than the longest cue with its lookarounds


def _negated(text: str, start: int) -> bool:
    """A negation cue ends within its window before ``start``. Only the window is
    searched (``endpos`` = ``start``, as if the text ended there), so a clause with
    thousands of mentions is still read in linear time."""
    for pattern, window in ((_ZH_NEGATION, _ZH_NEGATION_WINDOW),
                            (_EN_NEGATION, _EN_NEGATION_WINDOW)):
        for cue in pattern.finditer(text, max(0, start - window - _NEGATION_LOOKBACK), start):
            if start - cue.end() <= window and not (
                    pattern is _ZH_NEGATION and _HAN_SPACE.search(text, cue.end(), start)):
                return True
    return False


def _is_patient_pet(text: str, match: re.Match[str]) -> bool:
    """An animal named as the one something happens to, not as what bit someone."""
    before = text[max(0, match.start() - 24):match.start()]
    return not (_PET_AGENT.match(text, match.end()) or _BY_PET.search(before)
                or _WITH_PET.search(before))


def _unreal(text: str, start: int) -> bool:
    """A dream, film or news cue shortly before ``start`` with no waking up (or
    "now") between it and the mention."""
    for cue in _UNREAL.finditer(text, max(0, start - _UNREAL_WINDOW), start):
        if not _AWAKE.search(text, cue.end(), start):
            return True
    return False


def split_clauses(text: str) -> list[Clause]:
    """Split a *normalised* message into clauses with their flags."""
    clauses: list[Clause] = []
    anchored = bool(_ANCHOR.search(text))  # the message is about someone
    pos = 0
    for sep in sorted([*_CLAUSE_SPLIT.finditer(text), *_trailing_questions(text)],
                      key=lambda match: match.start()) + [None]:
        end = sep.start() if sep else len(text)
        if end < pos:
            continue
        raw = text[pos:end]
        stripped = raw.strip()
        if stripped:
            offset = pos + (len(raw) - len(raw.lstrip()))
            asked = bool(sep and sep.group() == "?")
            clause = _clause(stripped, offset, asked, anchored)
            if clauses and clauses[-1].question_mark and _BARE_DENIAL.fullmatch(stripped):
                clauses[-1] = replace(clauses[-1], denied=True)
            if clauses and _continues_history(clauses[-1], clause):
                clause = replace(clause, inherits_history=True)
            if clauses and clauses[-1]._animal_at(len(clauses[-1].text)) \
                    and not _PERSON.search(clause.text):
                clause = replace(clause, inherits_animal=True)
            clauses.append(clause)
        pos = sep.end() if sep else len(text)
    return clauses


_HAN_SPACE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def _trailing_questions(text: str) -> list[re.Match[str]]:
    """Spaces that end a statement before a practical question in WeChat style,
    where a space is the comma: "闪了腰 下背疼 能贴膏药吗" says the back hurts and
    then asks; the question must not turn the symptoms into a question. An
    information question ("中风 有什么症状") stays one clause."""
    cuts = []
    pos = 0
    for chunk in re.split(r"[,!?;:。！？；\n]", text):
        question = _ZH_QUESTION.search(chunk)
        if question and not (_INFO_QUESTION.search(chunk) or _STRONG_INFO.search(chunk)):
            spaces = [m for m in _HAN_SPACE.finditer(text, pos, pos + len(chunk))
                      if m.end() <= pos + question.start()]
            if spaces and not _ZH_QUESTION.search(text, pos, spaces[-1].start()):
                cuts.append(spaces[-1])
            # and a question, then the telling: "是不是心脏出问题了 咳嗽一个星期了 …" (a space
            # right after the question word continues the question: "会不会 是中风")
            after = _HAN_SPACE.search(text, pos + question.end(), pos + len(chunk))
            if after and (question.group() in ("吗", "呢") or after.start() - pos - question.end() >= 2):
                cuts.append(after)
        pos += len(chunk) + 1
    return cuts


def _continues_history(previous: Clause, clause: Clause) -> bool:
    """"小时候得过脑膜炎，发烧脖子硬": a clause with no time cue of its own
    continues a clause that was entirely about the past."""
    if _HISTORY.search(clause.text) or _CURRENT.search(clause.text):
        return False
    return previous.inherits_history or (
        bool(_HISTORY.search(previous.text)) and not _CURRENT.search(previous.text))


def _clause(text: str, start: int, ends_with_question_mark: bool, anchored: bool) -> Clause:
    info = bool(_INFO_QUESTION.search(text))
    asked = ends_with_question_mark or bool(_ZH_QUESTION.search(text) or _EN_QUESTION.search(text))
    strong = _is_info_only(text)
    interrogative = (asked and (info or strong or not anchored)) or strong
    return Clause(text, start, interrogative, anchored, question_mark=ends_with_question_mark)


def _is_info_only(text: str) -> bool:
    """Strong information-question phrasing even without a question mark."""
    return bool(_STRONG_INFO.search(text))


_STRONG_INFO = re.compile(
    r"什么症状|哪些症状|有哪些早期症状|有什么表现|怎么预防|如何预防|科普|前兆|先兆|如果|万一|假如|遇到.{0,10}怎么办"
    r"|what are the (symptoms|signs)|warning signs|what (should|do|can) (i|we|you) do if|what to do if"
    r"|\bif (someone|somebody|a person|a child|a baby|a newborn|an infant|a toddler|a kid|your|you)\b"
    r"|\bif (my|our|he|she|they)\b[^.?!]{0,40}\bever\b"
    r"|\basking for (my|a|our) (training|course|class|exam|studies|study|essay|assignment|homework)\b"
    r"|急救课|急救培训|培训课上|课上讲|危险信号|预警信号|报警信号"
    r"|\bwhat happens (in|at|to|when|if|after)\b"
    r"|\b(pathway|protocol|guideline|guidelines) for\b")


def few_words(text: str, han: int, latin: int) -> bool:
    """At most ``han`` Chinese characters and ``latin`` English words ("再见", "肚子疼", "bye")."""
    return (len(re.findall(r"[\u3400-\u9fff]", text)) <= han
            and len(re.findall(r"[a-z]+", text)) <= latin)
