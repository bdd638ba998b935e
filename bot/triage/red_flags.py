"""Red-flag screen: is this message an emergency?

Runs on every inbound patient message, before Rasa, so everything is compiled
once in :class:`RedFlagScreen` and a call does no I/O. Use
:func:`screen` (the process-wide default) or build a screen from a loaded
:class:`~bot.triage.kb.TriageKnowledge` in tests.

The screen never takes a turn down: if screening a message fails, the failure is
logged without the message (event, exception type, where, text length) and the
message is treated as no emergency, so it still reaches the triage interview.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

from bot.i18n.detect import detect_language
from bot.triage import facts
from bot.triage.case import RedFlagHit
from bot.triage.kb import RedFlagCategory, TriageKnowledge, default_knowledge
from bot.triage.learned import cues, default_model, light_scan, model_text
from bot.triage.matcher import PhraseMatcher, Scan, scan_text
from bot.triage.pinyin import PinyinReader
from bot.triage.text import NEGATED, PRESENT, UNREAL, few_words
from bot.triage.understanding import Reading, Understanding

log = logging.getLogger(__name__)

# "没有其他症状" / "nothing else": the patient denies everything not mentioned.
_DENY_REST = re.compile(r"没有(其他|别的)(症状|不舒服)|其他(都|也)?(还好|没有|正常)|\bnothing else\b|\bno other symptoms\b")


# categories that cannot apply to one sex (the learned layer does not know it)
_ONE_SEX = {"testicular_torsion": "male", "pregnancy_emergency": "female"}
_FEVER_CATEGORIES = {"infant_fever"}
# any word of a pregnancy ("怀孕", "孕32周", "胎动", "expecting", "30 weeks along")
_PREGNANCY_CUE = re.compile(r"孕|胎|妊娠|待产|预产期|羊水|见红|停经|例假|月经|大姨妈|\d{1,2}\s*周(?!岁)"
                            r"|pregnan|expecting|\bweeks? along\b|\b\d{1,2} ?(weeks|wks)\b|\bdue date\b"
                            r"|\bbump\b|\bwaters?\b|\bperiod\b|\bectopic\b")
# the signs that, with a fever, make the category (NICE NG143/NG51: rash, stiff neck,
# confusion or drowsiness, fast breathing)
_SIGN_BEYOND_FEVER = {"sepsis_meningitis_rash": frozenset({
    "rash", "purpuric_spots", "neck_stiffness", "confusion", "shortness_of_breath"})}
# a torsion is of a testicle: the learned layer also reads "sudden, really painful" about an eye
_GENITAL_CUE = re.compile(r"睾丸|蛋蛋|阴囊|下体|下面|下边|私处|小鸡鸡|裆|腹股沟|卵蛋|(?<![鸡鸭鹅皮])蛋(?![糕白黄清挞饼汤])"
                          r"|gaowan|testi[cs]|\bballs?\b|scrot|groin|\bnuts?\b|privates|down there|willy"
                          r"|crotch")
# a headache the patient knows ("my usual migraines", "老毛病") is no thunderclap unless they
# say it is different or the worst
_KNOWN_HEADACHE = re.compile(r"老毛病|老样子|跟以前一样|和以前一样|又犯了|经常头疼|经常偏头痛|偏头痛又"
                             r"|\b(?:my|the) usual\b|same as (?:always|usual)|\bas usual\b|\bmy migraines\b"
                             r"|\brecurrent\b")
_UNLIKE_BEFORE = re.compile(r"不一样|从没|从来没|最厉害|最疼|最痛|最严重|炸|\bworst\b|\bdifferent\b|\bnever had\b")
# black stools are expected on iron or bismuth
_BLACK_STOOL_EXPLAINED = re.compile(r"铁剂|补铁|铁片|硫酸亚铁|琥珀酸亚铁|多糖铁|铋|\biron\b|bismuth|pepto")
_VOMITED_BLOOD = re.compile(r"吐血|吐了?[^,，。;；]{0,4}血|呕血|咖啡|vomit\w*[^.;]{0,20}blood|coffee")
_WORDS = re.compile(r"[a-z]{2,}|[\u3400-\u9fff]")
_CLEAR = 0.35  # a learned category this probable needs no further evidence
_DOUBTFUL = 0.5  # under this, a learned category whose every sign is denied is vetoed
_DOUBTFUL_INJURY = 0.6  # under this, a learned injury in someone behaving normally is vetoed


class RedFlagScreen:
    """Precompiled red-flag matching over one knowledge base, plus the learned
    understanding layer when one is given: a category fires when the rules
    **or** the learned layer fire (a miss is worse than a false alarm)."""

    def __init__(self, knowledge: TriageKnowledge, model: Understanding | None = None,
                 pinyin: PinyinReader | None = None) -> None:
        self.knowledge = knowledge
        self.model = model
        # toneless pinyin is read as characters first (built with the model)
        self.pinyin = pinyin or getattr(model, "pinyin", None)
        self._last: tuple[str, Reading] | None = None
        phrases: dict[str, list[str]] = {s.id: list(s.phrases()) for s in knowledge.symptoms.values()}
        for fid, words in knowledge.features.items():
            phrases.setdefault(fid, []).extend(words)
        self.matcher = PhraseMatcher(phrases, knowledge.patterns)

    def scan(self, text: str) -> Scan:
        """The message matched against the phrases; a message typed in toneless
        pinyin ("wo ba tu xue le") is read in characters (``bot.triage.pinyin``)."""
        characters = self.pinyin.read(text) if self.pinyin is not None else None
        return scan_text(characters or text, self.matcher)

    def reading(self, scan: Scan, full: bool = True) -> Reading | None:
        """The learned layer's reading of a scanned message (``None`` without a model);
        the last one is kept, as the screen and the extractor read the same message.

        Args:
            full: with the symptoms and the subject (the screen alone needs
                only the emergency and its category).
        """
        if self.model is None:
            return None
        last = self._last
        if last is not None and last[0] == scan.text and (not full or not last[1].partial):
            return last[1]
        if len(scan.lines) > 1:
            # an interview story (description + answers): each message is read on
            # its own, as it was screened when it arrived; short answers ("28",
            # "不知道") read together with the complaint look like nothing the
            # layer was trained on
            reading = _combine([self._read(line, light_scan(line), full) for line in scan.lines])
        else:
            reading = self._read(model_text(scan), scan, full)
        self._last = (scan.text, reading)
        return reading

    def screen(self, text: str, lang: str | None = None) -> RedFlagHit | None:
        """The first (most serious, by KB order) red flag in ``text``, or ``None``.

        Never raises: a failure is logged without the patient's words and the
        message goes on to triage (``None``).
        """
        try:
            hits = self.hits(self.scan(text))
        except Exception as exc:  # noqa: BLE001 - the screen runs on every message
            _log_failure(exc, text)
            return None
        return hits[0] if hits else None

    def hits(self, scan: Scan, extra: set[str] | None = None) -> list[RedFlagHit]:
        """Every category that fires on a scanned message, in KB order.

        Args:
            scan: the scanned message.
            extra: findings known otherwise (e.g. from a stated glucose value).
        """
        out = []
        extra = (extra or set()) | facts.stated_ids(scan)  # "temperature_38", "small_child"
        for category in self.knowledge.red_flags:
            phrase = self._fires(category, scan, extra)
            if phrase is not None:
                out.append(RedFlagHit(category.id, phrase, category.name, category.advice,
                                      category.action))
        learned = self._learned(scan)
        if learned is not None and all(hit.category != learned.id for hit in out):
            quote = scan.text if len(scan.text) <= 40 else scan.text[:39] + "…"
            out.append(RedFlagHit(learned.id, quote, learned.name, learned.advice, learned.action))
        return out

    def _read(self, text: str, scan: Scan, full: bool) -> Reading:
        if not _WORDS.search(text):  # "34", "38.5", "👍": no words to read, rules only
            return Reading(0.0, False, None, 0.0)
        return self.model.read(text, cues(scan), full)

    def _learned(self, scan: Scan) -> RedFlagCategory | None:
        """The category the learned layer fires, unless the facts contradict it."""
        reading = self.reading(scan, full=False)
        if reading is None or not reading.fired or reading.category is None:
            return None
        if reading.category_p < _CLEAR:  # its evidence is needed: read the symptoms
            reading = self.reading(scan)
        category = self.knowledge.red_flag(reading.category)
        if category.id in _SIGN_BEYOND_FEVER:
            reading = self.reading(scan)  # the symptoms too
        if (_contradicted(category, scan, reading.category_p)
                or not _supported(category, scan, reading)
                or not _sign_beyond_fever(category, scan, reading)):
            return None
        return category

    def answers(self, scan: Scan, hits: list[RedFlagHit]) -> dict[str, bool | None]:
        """Red-flag answers the text gives: True (fired), False (denied), None.

        A category counts as denied when two or more of its features are
        explicitly negated, or the patient says there is nothing else.
        """
        fired = {hit.category for hit in hits}
        negated = scan.negated_ids()
        deny_rest = bool(_DENY_REST.search(scan.text))
        out: dict[str, bool | None] = {}
        for category in self.knowledge.red_flags:
            if category.id in fired:
                out[category.id] = True
                continue
            features = {f for combo in category.combos for f in combo} - set(category.applies_to)
            denied = len(features & negated) >= 2 or deny_rest
            out[category.id] = False if denied else None
        return out

    def _fires(self, category: RedFlagCategory, scan: Scan, extra: set[str]) -> str | None:
        for clause in scan.clauses:
            for pattern in category.triggers:
                for match in pattern.finditer(clause.text):
                    if clause.status(match.start(), match.end()) == PRESENT and not _explained(
                            category.id, clause.text, match.start(), match.group(), scan.text):
                        return match.group()
        if not category.combos or not _requirements_met(category, scan):
            return None
        present = scan.present_ids() | extra
        for combo in category.combos:
            if all(feature in present for feature in combo):
                mentions = [scan.first_present(f) for f in combo]
                if any(m is not None and _explained(
                        category.id, scan.clauses[m.clause].text,
                        scan.clauses[m.clause].text.find(m.phrase), m.phrase, scan.text)
                       for m in mentions):
                    continue
                return " + ".join(m.phrase if m else f for m, f in zip(mentions, combo))
        return None


def _log_failure(exc: BaseException, text: object) -> None:
    """Log a screening failure with no personal data: not ``str(exc)`` (a ``KeyError``
    carries a word of the message) and no traceback (its last line is ``str(exc)``)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
    length = len(text) if isinstance(text, str) else -1
    log.error("triage.red_flag.screen_failed error=%s where=%s length=%d",
              type(exc).__name__, where, length)


def _combine(readings: list[Reading]) -> Reading:
    """The most alarming message's reading, with the symptoms of all of them."""
    best = max(readings, key=lambda r: (r.fired, r.emergency))
    symptoms: dict[str, float] = {}
    for reading in readings:
        for symptom, p in reading.symptoms.items():
            symptoms[symptom] = max(p, symptoms.get(symptom, 0.0))
    subject = next((r.subject for r in readings if r.subject is not None), None)
    return replace(best, symptoms=symptoms, subject=subject,
                   partial=any(r.partial for r in readings))


def _related(category: RedFlagCategory) -> set[str]:
    return set(category.applies_to) | {f for combo in category.combos for f in combo}


def _supported(category: RedFlagCategory, scan: Scan, reading: Reading) -> bool:
    """A learned hit whose category is not clear (top probability under
    :data:`_CLEAR`), or on a very short message, needs evidence of that category: one of its symptoms or
    features that the lexicon finds present or the symptom heads read."""
    if reading.category_p >= _CLEAR and not _short(scan.text):
        return True
    return bool((scan.present_ids() | set(reading.symptoms)) & _related(category))


# "拿杯子一压就褪色了", "it fades when I press a glass on it": the rash blanches
_BLANCHES_ZH = re.compile(r"(压|按|玻璃杯).{0,6}(?<![不没])(褪色|消退|变白|退了|就没了|就不见了)")
_BLANCHES_EN = re.compile(r"\b(fades?|fading|blanch(es|ing)?|goes (white|away|pale))\b"
                          r"(?= (under|with|when|if|after|on))")
# "I did the glass test and the spots fade"
_GLASS_TEST_FADES = re.compile(r"\b(?:glass|tumbler|cup) test\b[^.;]{0,30}?\b(?:fades?|fading|blanch\w*"
                               r"|go(?:es)? away|disappear\w*)\b")
_NEGATED_IN = re.compile(r"n'?t\b|\bnot\b|\bnever\b|\bno\b")
_NOT_BEFORE = re.compile(r"(n'?t|\bnot|\bnever|\bno)\s+(\w+\s+)?$")


def _blanches(text: str) -> bool:
    if _BLANCHES_ZH.search(text):
        return True
    if any(not _NEGATED_IN.search(m.group()) for m in _GLASS_TEST_FADES.finditer(text)):
        return True
    return any(not _NOT_BEFORE.search(text[max(0, m.start() - 16):m.start()])
               for m in _BLANCHES_EN.finditer(text))


def _sign_beyond_fever(category: RedFlagCategory, scan: Scan, reading: Reading) -> bool:
    """A learned hit of a category defined by fever *and* a sign ("fever with a rash
    that does not fade") needs a sign besides the fever: "a fever of 39 for six days"
    alone is a doctor today, not 120."""
    signs = _SIGN_BEYOND_FEVER.get(category.id)
    if signs is None:
        return True
    return bool((scan.present_ids() | set(reading.symptoms)) & signs)


def _short(text: str) -> bool:
    """A message of a few characters or words ("再见", "bye"): too little for the
    layer to be trusted without evidence of the category."""
    return few_words(text, han=4, latin=3)


# A message that is only a request about the patient's consent, data or reminders ("I
# want to withdraw my consent", "I want to delete all my data", "我要撤回同意",
# "把提醒都删了"): the learned layer read "I want to withdraw ..." as suicidal intent and
# "把提醒都删了" as an overdose in tested conversations. Whole message only: anything
# more ("... and end my life", "药都吃了") is read as usual.
_RIGHTS_REQUEST = re.compile(
    r"^(?:(?:i|we)\s+(?:really\s+)?(?:want|wanna|would like|'d like|need)\s+(?:to\s+)?|"
    r"i'?d like to\s+|please\s+|can you\s+|could you\s+|i\s+)?"
    r"(?:withdraw|revoke|cancel|take back|delete|erase|remove|wipe|clear)\s+"
    r"(?:all\s+(?:of\s+)?)?(?:my\s+|the\s+)?(?:personal\s+|health\s+)?"
    r"(?:consent|agreement|data|information|info|records|account)"
    r"(?:\s+(?:please|now|thanks|thank you))?$|"
    r"^(?:我要|我想|请|帮我|麻烦)?(?:撤回|撤销|收回|取消)(?:我的)?(?:全部|所有)?(?:的)?同意(?:吧|了)?$|"
    r"^(?:(?:i|we)\s+(?:want|would like|'d like|need)\s+to\s+|please\s+)?"
    r"(?:delete|cancel|remove|stop|turn off|clear)\s+(?:all\s+(?:of\s+)?)?(?:my\s+|the\s+)?"
    r"(?:medication\s+|medicine\s+|pill\s+)?reminders?(?:\s+please)?$|"
    r"^(?:我要|我想|请|帮我|麻烦)?把?(?:我的|我|药的|吃药的)?(?:所有|全部)?(?:的)?(?:用药|吃药)?提醒"
    r"(?:都|全|全部)?(?:删了|删掉|删除|取消|取消掉|关了|关掉)(?:吧|了|掉)?$|"
    r"^(?:我要|我想|请|帮我|麻烦)?(?:删除|删掉|取消|关掉)(?:我的)?(?:所有|全部)?(?:的)?(?:用药|吃药)?提醒(?:吧)?$")


def _rights_request(text: str) -> bool:
    s = re.sub(r"[\s,.!?;:，。！？；：、]+", " ", text.casefold()).strip()
    return bool(_RIGHTS_REQUEST.match(s))


# a trigger the rest of the message explains as something else:
# vision going dark for a moment on standing up (no loss of consciousness)
_DARK_VISION = re.compile(r"眼前(一)?(黑|发黑)|发黑|黑蒙|头晕|眼花|dizzy|light-?headed|black(ed)? out"
                          r"|vision (went|goes|going) (black|dark)|saw stars")
_STANDING_UP = re.compile(r"站起|起身|起来|蹲|起床|stood up|stand(ing)? up|got up|getting up|squat")
_PASSED_AT_ONCE = re.compile(r"一下就好|马上就好|就好了|缓过来|缓了一下|缓一会|一会儿?就好|没事了|几秒"
                             r"|went away|passed|cleared|fine (now|again|after)|few seconds|second or two")
# "差点晕过去" (almost fainted): it did not happen
_ALMOST = re.compile(r"(差点|险些|差一点|几乎)儿?$|\b(almost|nearly)\s*$")
_MEDICINE_FOR = re.compile(r"\s*(meds?|medications?|medicines?|pills|tablets|drugs|prescriptions?)\b")
# a bruised nail after a finger was caught or struck is no sign of low oxygen
_NAIL = re.compile(r"指甲|甲床|\bnails?\b")
_LOCAL_INJURY = re.compile(r"夹|砸|撞|碰|踢|扎|锤|门缝|jammed|slammed|shut (it )?in|caught (it )?in|crushed"
                           r"|stubbed|hit (it|my|his|her)|hammer")


# figures of speech: "作业多到我喘不过气", "drowning in emails", a "fit note" for work
_WORKLOAD = re.compile(r"(作业|功课|工作|任务|事情|活儿?|压力|考试|学习|房贷|债|加班|消息|文件|会议|报告|论文)"
                       r"[^,，。.!！?？现突]{0,8}(喘不过气|喘不上气|透不过气)|压得[我他她人]?(喘不过气|喘不上气|透不过气)"
                       # "忙得喘不过气", "快要窒息了 这个表格怎么这么多"
                       r"|忙得[^,，。.!！?？]{0,4}(喘不过气|喘不上气|透不过气)"
                       r"|(喘不过气|喘不上气|透不过气|窒息)[^,，。.!！?？]{0,6}(这个|这些|那个|那些)?"
                       r"(表格|表|作业|功课|文件|报告|论文|材料|手续)")
# a baby named, or an age in days, weeks or months ("尿频 … 发烧38.7 打摆子" is an adult's fever)
_BABY_CUE = re.compile(
    r"宝宝|宝贝|婴儿|新生儿|娃|孩子|小孩|女儿|儿子|闺女|外孙|孙子|孙女|月子|满月|个月|周大|天大|出生|生下来|喂奶|吃奶"
    r"|奶粉|尿不湿|月龄|[\d一二两三四五六七八九十]\s*(?:周|个?星期|个?礼拜|天)(?![一二三四五六日末岁])"
    r"|\b(bab(y|ies)|bubs?|infant|newborn|little one|son|daughter|kid|child|weeks?|wks?|months?|mos|days? old"
    r"|nappy|nappies|diaper|feeds?|feeding|formula|breastfe\w*)\b")
# "homework gives him the worst headache of his life": a figure of speech about a chore
_HEADACHE_FIGURE = re.compile(
    r"\b(homework|work|school|maths?|exams?|revision|kids|job|boss|traffic|meetings?|paperwork|taxes"
    r"|in-laws|emails?|spreadsheets?)\b[^.!?]{0,20}\b(gives?|giving|gave)\b[^.!?]{0,24}\bheadaches?\b"
    r"|(作业|工作|老板|考试|孩子的作业|报表|开会)[^,，。.!！?？]{0,6}(让|叫|搞得|弄得)[我他她][^,，。.!！?？]{0,4}(头疼|头痛|头都大)")
# bleeding that stopped with pressure and has not started again ("按了十分钟停了",
# "stopped after 10 minutes of pinching") is no bleeding that will not stop
_BLEEDING_STOPPED = re.compile(r"(?<![没不未])(止住了|停了)|不流了|没再流|已经不流|止血了"
                               r"|(?<!not )(?<!n't )(?<!never )(?<!hasnt )(?<!wont )\bstopped\b")
_STILL_BLEEDING = re.compile(r"还在流|又流|止不住|停不下来|一直流|又开始|还是流|往外渗|渗出来"
                             r"|\b(still|again|won'?t stop|keeps? (bleeding|coming)|restarted|"
                             r"soaking|soaked through|not stopping|can'?t stop)\b")


def _bleeding_stopped(text: str) -> bool:
    return bool(_BLEEDING_STOPPED.search(text)) and not _STILL_BLEEDING.search(text)


# figures of speech: "被老板气得吐血", "having a heart attack over these parking prices",
# an app that does not respond ("挂号系统 … 点了半天没反应")
_ANGER_BLOOD = re.compile(r"气(得|到|的)?[^,，。.!！?？]{0,3}吐血|吐血三升|气吐血")
_HEART_ATTACK_OVER = re.compile(r"heart attack (over|about|at|from|looking at|when i saw)\b")
_DEVICE = re.compile(r"系统|app|小程序|公众号|网页|页面|网站|手机|电脑|屏幕|按钮|点了|链接|二维码|扫码|支付"
                     r"|\b(app|website|site|page|link|button|phone|screen|system|portal)\b")
# laughing until out of breath is a figure of speech ("笑得我喘不上气", "laughed so hard I couldn't breathe")
_LAUGHING = re.compile(r"笑得[^,，。.!！?？]{0,6}(喘不过气|喘不上气|透不过气|上气不接下气)"
                       r"|\blaugh(ed|ing)?\b[^.!?]{0,25}\b(couldn'?t|can'?t|cant|could not|cannot) breathe\b")
_SWAMPED = re.compile(r"\s*(ing)?\s+in (emails?|work|paperwork|debt|homework|messages|tasks|assignments"
                      r"|bills|meetings|deadlines|admin|laundry)\b")
_FIT_FOR_WORK = re.compile(r"\s*(note|for work|to work|for duty|and well|bit|ness)\b")


def _explained(category_id: str, clause: str, start: int, phrase: str, text: str) -> bool:
    """A trigger (``phrase`` at ``start`` in ``clause``) that the message itself
    explains as no emergency of its category."""
    if category_id != "poisoning_overdose" and start >= 0 and _MEDICINE_FOR.match(
            clause, start + len(phrase)):
        return True  # "seizure meds need a refill": a known condition, nothing happening
    end = start + len(phrase)
    if category_id == "unconscious_or_seizure":
        if start >= 0 and _ALMOST.search(clause[max(0, start - 8):start]):
            return True
        if phrase in ("没反应", "没有反应", "不反应") and _DEVICE.search(clause):
            return True  # "挂号系统 … 点了半天没反应": the app does not respond
        if phrase == "fit" and start >= 0 and _FIT_FOR_WORK.match(clause, end):
            return True
        return bool(_DARK_VISION.search(phrase) and _STANDING_UP.search(text)
                    and _PASSED_AT_ONCE.search(text))
    if category_id == "breathing_difficulty":
        if _NAIL.search(phrase) and _LOCAL_INJURY.search(text):
            return True
        return start >= 0 and any(m.start() <= start and end <= m.end()
                                  for pattern in (_WORKLOAD, _LAUGHING)
                                  for m in pattern.finditer(clause))
    if category_id == "major_trauma_or_burns" and phrase.startswith("drown"):
        return start >= 0 and bool(_SWAMPED.match(clause, end))
    if category_id == "thunderclap_headache":
        return bool(_HEADACHE_FIGURE.search(clause))
    if category_id == "gi_bleeding":
        return bool(_ANGER_BLOOD.search(clause))
    if category_id == "severe_bleeding":
        return _bleeding_stopped(text)
    if category_id == "cardiac_chest_pain":
        return bool(_HEART_ATTACK_OVER.search(clause, max(0, start)))
    return False


def _contradicted(category: RedFlagCategory, scan: Scan, reading_p: float = 1.0) -> bool:
    """Facts the rules read that veto a learned hit: every clause is a question,
    a hypothetical or about the past (a veto when the category's own words are
    negated was measured to lose more emergencies than it saved false alarms,
    through the lexicon's scope mistakes: "左手也抬不起来"); a stated temperature under
    38 °C or an age of 3 months or more for a baby's fever; the other sex."""
    if not any(clause.speaks_of_now() for clause in scan.clauses):
        return True  # only questions, hypotheticals and the past
    related = [m for m in scan.mentions if m.id in _related(category)]
    if related and all(m.status == UNREAL for m in related):
        return True  # its signs are all in a dream, a film or an animal
    if related and all(m.status == NEGATED for m in related) and reading_p < _DOUBTFUL:
        return True  # a doubtful hit whose every sign is denied ("没有喘不上气")
    if _rights_request(scan.text):
        return True  # a consent or data request, nothing about the patient's health
    if category.id == "major_trauma_or_burns" and reading_p < _DOUBTFUL_INJURY \
            and "behaving_normally" in scan.present_ids():
        return True  # a doubtful injury in someone playing or "like normal" again
    if category.id in _FEVER_CATEGORIES:
        stated, temperature = facts.temperature_c(scan), facts.reported_temperature(scan)
        age = facts.age_years(scan)
        if stated is not None and (temperature is None or temperature < 38.0):
            return True
        if age is not None and age >= 0.25:
            return True
        if facts.self_report(scan):
            return True
        if category.id == "infant_fever" and age is None and not _BABY_CUE.search(scan.text):
            return True  # a fever in a message that names no baby and no age (an adult's)
    if category.requires.get("pregnant") and not _PREGNANCY_CUE.search(scan.text) \
            and not facts.pregnancy(scan)[0]:
        return True  # a pregnancy emergency in a message that says nothing of a pregnancy
    if category.id == "sepsis_meningitis_rash" and _blanches(scan.text):
        return True  # the glass test was done and the rash fades
    if category.id == "testicular_torsion" and not _GENITAL_CUE.search(scan.text):
        return True
    if category.id == "severe_bleeding" and _bleeding_stopped(scan.text):
        return True
    if category.id == "thunderclap_headache" and _HEADACHE_FIGURE.search(scan.text):
        return True
    if category.id == "thunderclap_headache" and _KNOWN_HEADACHE.search(scan.text) \
            and not _UNLIKE_BEFORE.search(scan.text):
        return True
    if category.id == "gi_bleeding" and _BLACK_STOOL_EXPLAINED.search(scan.text) \
            and not _VOMITED_BLOOD.search(scan.text):
        return True
    sex = _ONE_SEX.get(category.id)
    if sex is not None:
        stated = facts.sex(scan)
        if stated is not None and stated != sex and not (
                sex == "female" and facts.pregnancy(scan)[0]):
            return True
    return False


def _requirements_met(category: RedFlagCategory, scan: Scan) -> bool:
    requires = category.requires
    if "age_months_below" in requires:
        age = facts.age_years(scan)
        if age is None or age * 12 >= requires["age_months_below"]:
            return False
        stated, temperature = facts.temperature_c(scan), facts.reported_temperature(scan)
        if stated is not None and (temperature is None or temperature < 38.0):
            return False  # a baby's fever is 38 °C or more: "37.4 算发烧吗" is a question
    if requires.get("pregnant"):
        pregnant, _ = facts.pregnancy(scan)
        if not pregnant and not scan.present_ids() & {"reduced_fetal_movement", "water_breaking"}:
            return False
    return True


@lru_cache(maxsize=1)
def default_screen() -> RedFlagScreen:
    """The checkout's screen for library use outside an ``App`` (tests, benchmarks,
    notebooks); the servers use their app's (``App.screen``), built from its settings."""
    return RedFlagScreen(default_knowledge(), default_model())


def screening(load: Callable[[], RedFlagScreen]) -> Callable[..., RedFlagHit | None]:
    """A screen function over a screen loaded on first use that never raises: a screen
    that cannot load (a broken knowledge base) logs and lets the message through, so
    the conversation goes on (the emergency advice itself needs no screen object)."""

    def screen_text(text: str, lang: str | None = None) -> RedFlagHit | None:
        """Screen one inbound patient message for an emergency.

        Args:
            text: the raw message (zh, en or code-mixed).
            lang: the conversation language, if known; only used by callers to pick
                the advice text (``hit.message(lang or detect_language(text))``).

        Returns:
            The most serious :class:`RedFlagHit`, or ``None`` when the message is
            not an emergency (negated, past history and information questions are
            ignored). Never raises (see :meth:`RedFlagScreen.screen`).
        """
        try:
            screener = load()
        except Exception as exc:  # noqa: BLE001 - e.g. a broken knowledge base
            _log_failure(exc, text)
            return None
        return screener.screen(text, lang)

    return screen_text


screen = screening(default_screen)


def advice_language(text: str, lang: str | None) -> str:
    """The language to answer a red flag in: the conversation's, else the message's."""
    return lang or detect_language(text, "zh") or "zh"


__all__ = ["RedFlagScreen", "default_screen", "screen", "screening", "advice_language"]
