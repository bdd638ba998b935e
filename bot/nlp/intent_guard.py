"""A second look at predictions that would start something irreversible.

The NLU model (DIET) decides on the whole message; a look-alike such as "how do I
cancel my Netflix subscription", "帮我删掉前任的微信" or "I withdraw my statement
that pineapple belongs on pizza" can land on ``cancel_appointment``,
``delete_my_data`` or ``withdraw_consent``. The bot never acts on such a
prediction without a confirmation (``bot/consent/confirm.py``), but a patient who
asked about Netflix should not be asked whether to delete their health records.

:func:`overrule` is consulted for the risky intents only. It keeps the model's
answer unless the message names something that is not ours — a third-party
service, a non-medical object, the bot's own "memory" — **and** names nothing of
ours (an appointment, a reminder or medicine, the patient's data, the consent).
Messages with no object at all ("取消", "cancel it", "删了吧") keep the model's
answer: they refer to what the conversation is about, and the core resolves
them (and asks).
"""

from __future__ import annotations

import re

from bot.text.normalise import normalise

RISKY_INTENTS = frozenset({
    "delete_my_data", "withdraw_consent", "cancel_appointment", "cancel_medication_reminder",
    "reschedule_appointment", "set_medication_reminder", "book_appointment",
    "dose_taken", "dose_skipped", "snooze_reminder",
})


def _words(*alternatives: str) -> re.Pattern[str]:
    """One pattern: Han alternatives match anywhere, Latin ones on word boundaries."""
    han = [a for a in alternatives if not re.search(r"[a-z]", a)]
    latin = [a for a in alternatives if re.search(r"[a-z]", a)]
    parts = []
    if han:
        parts.append("|".join(sorted(han, key=len, reverse=True)))
    if latin:
        parts.append(r"(?<![a-z])(?:" + "|".join(sorted(latin, key=len, reverse=True)) + r")(?![a-z])")
    return re.compile("|".join(parts))


# What belongs to the hospital's bot, per intent.
# booking words alone ("预约", "book") name no object: "帮我预约洗车" is not ours
_BOOKING_WORDS = ("预约", "appointment", "appointments", "appt", "booking", "bookings")
_MEDICAL_OBJECT = (
    "挂号", "挂的号", "的号", "个号", "号源", "门诊", "就诊", "看病", "复诊", "医生", "大夫", "专家",
    "科", "检查", "体检", "床位", "住院", "手术",
    "hospital", "visit", "doctor", "doctors", "dr",
    "clinic", "consultation", "check-up", "checkup", "dept", "department", "surgery", "scan", "clinic's",
    "cardiology", "dermatology", "pediatrics", "paediatrics", "gp",
)
_APPOINTMENT = _words(*_BOOKING_WORDS, *_MEDICAL_OBJECT)
_MEDICAL_BOOKING = _words(*_MEDICAL_OBJECT)
_REMINDER = _words("提醒", "reminder", "reminders", "remind")
# what a dose answer is about ("吃了", "took it", "skip tonight", "5 more minutes")
_DOSE = _words("吃", "服", "打针", "剂", "分钟", "等会", "待会", "稍后", "晚点",
               "took", "taken", "take", "taking", "skip", "skipped", "missed", "snooze", "later",
               "min", "mins", "minutes", "hour", "popped", "swallowed", "nudge", "again", "ping",
               "再", "一会")
_MEDICATION = _words(
    "药", "吃药", "服药", "用药", "片", "胰岛素", "血压", "血糖",
    "pill", "pills", "med", "meds", "medication", "medications",
    "medicine", "medicines", "dose", "doses", "tablet", "tablets", "insulin", "drug", "drugs",
    "metformin", "aspirin",
)
_DATA = _words(
    "数据", "信息", "资料", "记录", "聊天", "隐私", "病历", "档案", "健康", "个人", "注销", "手机号", "电话", "号码",
    "住址", "地址", "身份证", "phone number", "number", "address", "id card",
    "data", "info", "information", "record", "records", "history", "profile", "personal",
    "everything about me", "health",
)
_CONSENT = _words(
    "同意", "授权", "隐私", "知情", "许可", "consent", "permission", "authorization", "authorisation",
    "privacy", "agreement", "health data",
)
_OURS = {
    "book_appointment": (_MEDICAL_BOOKING,),
    "dose_taken": (_MEDICATION, _REMINDER, _DOSE),
    "dose_skipped": (_MEDICATION, _REMINDER, _DOSE),
    "snooze_reminder": (_MEDICATION, _REMINDER, _DOSE),
    "cancel_appointment": (_APPOINTMENT,),
    "reschedule_appointment": (_APPOINTMENT,),
    "cancel_medication_reminder": (_MEDICATION, _REMINDER),
    "set_medication_reminder": (_MEDICATION,),
    "delete_my_data": (_DATA,),
    "withdraw_consent": (_CONSENT, _DATA),
}

# Objects that are not ours: other services and apps, shopping and travel, money,
# leisure, pets, the bot's own feelings and memory, opinions and statements.
_FOREIGN = _words(
    # apps, services, devices
    "微信号", "朋友圈", "公众号文章", "群聊", "好友", "前任", "照片", "相册", "图片", "视频", "会员", "订阅",
    "自动续费", "外卖", "订单", "快递", "包裹", "打车", "网约车", "滴滴", "出租车", "专车", "机票", "航班",
    "火车", "高铁", "车票", "动车", "酒店", "民宿", "餐厅", "饭店", "订座", "位子", "理发", "美发", "美甲",
    "健身", "健身房", "瑜伽", "课程", "网课", "补习", "游戏", "淘宝", "京东", "拼多多", "美团", "抖音", "快手",
    "微博", "支付宝", "银行", "转账", "提现", "信用卡", "贷款", "股票", "基金", "闹钟", "会议", "开会",
    "约会", "电影", "音乐", "歌", "邮件", "文件", "软件", "手机", "电脑", "宠物", "猫", "狗", "驱虫",
    "笑话", "那句话", "说的话", "观点", "评论", "买菜", "牛奶", "生日", "快递柜", "作业", "考试", "面试",
    "房租", "合同", "签证", "护照", "婚礼", "聚会", "饭局", "车", "保险单",
    "消息", "撤回消息", "浇花", "养花", "花草", "植物", "电费", "水费", "燃气费", "话费",
    "记忆", "你自己", "你的感情", "自拍", "截图",
    "洗车", "超市", "商场", "打电话", "买东西", "取钱", "取款", "天气", "下雨", "下雪", "比赛",
    "instagram", "facebook", "tiktok", "twitter", "snapchat", "whatsapp", "netflix", "spotify",
    "youtube", "amazon", "uber", "lyft", "didi", "taxi", "cab", "ride", "flight", "flights", "train",
    "hotel", "airbnb", "restaurant", "table for", "gym", "membership",
    "subscription", "subscriptions", "order", "pizza", "package", "parcel", "photo", "photos",
    "picture", "pictures", "video", "videos", "email", "emails", "contact", "contacts", "app", "apps",
    "game", "games", "song", "songs", "playlist", "alarm", "alarms", "meeting", "meetings",
    "money", "bank", "card", "stock", "stocks", "class", "classes", "haircut", "salon",
    "dog", "cat", "pet", "vet", "landlord", "rent", "statement", "joke", "comment", "post", "tweet",
    "friend", "friends", "girlfriend", "boyfriend", "ex", "milk", "groceries", "birthday",
    "homework", "exam", "interview", "wedding", "party", "car", "tyre", "tire", "iphone", "phone",
    "laptop", "computer", "pineapple", "opinion", "your memory", "your own", "your feelings",
    "mondays", "dmv", "passport", "visa", "plant", "plants", "flowers", "garden", "bill", "bills",
    "selfie", "selfies", "screenshot", "screenshots",
    "cookies", "cookie", "website", "weather", "rain", "snow", "match", "cricket", "football",
    "ipl", "cuppa", "airport",
)


# Erasing needs a word that asks for it: delete_my_data for a message without one ("tell
# me a story" 0.84, "I forgot") is the classifier's guess, never the patient's request.
_ERASE = re.compile(
    r"删|清除|清空|清掉|抹掉|抹去|去掉|拿掉|移除|注销|销号|销毁|忘掉|忘了我"
    r"|不要?再?(?:保留|保存|存)|别再?(?:保留|保存|存)|不想.{0,10}(?:保留|保存|存)|不让.{0,8}(?:保留|保存|存)"
    r"|(?<![a-z])(?:dele+t\w*|eras\w*|remov\w*|wip(?:e|ed|es|ing)|forget|forgotten|purge\w*|destroy\w*"
    r"|get rid|clear|scrub|nuke|close my account|shanchu)(?![a-z])"
    r"|(?<![a-z])(?:don'?t|do not|dont|stop|no longer|not) (?:want you to )?"
    r"(?:keep|keeping|store|storing|hold|holding|save|saving)(?![a-z])")


def _names_a_drug(text: str) -> bool:
    from bot.kb.drugs import default_drugs  # the knowledge base's drug names and brands

    return default_drugs().find(text) is not None


# consent given somewhere else (a website's cookies, a friend request), unless the
# message also names the hospital or health data
_OTHER_CONSENT = _words("cookies", "cookie", "website", "websites", "browser", "网站", "浏览器",
                        "好友申请", "好友")
_HEALTH = _words("健康", "病历", "医疗", "医院", "health", "medical", "hospital")


def _asks_no_erasure(norm: str, intent: str | None) -> bool:
    return intent == "delete_my_data" and not _ERASE.search(norm)


def overrule(text: str, intent: str | None) -> bool:
    """Whether a risky ``intent`` for ``text`` should be taken as out of scope."""
    if intent not in RISKY_INTENTS:
        return False
    norm = normalise(text)
    if _asks_no_erasure(norm, intent):
        return True
    if intent == "withdraw_consent" and _OTHER_CONSENT.search(norm) and not _HEALTH.search(norm):
        return True
    if not _FOREIGN.search(norm):
        return False
    if any(p.search(norm) for p in _OURS[intent]):
        return False
    return not (_OURS[intent][0] is _MEDICATION and _names_a_drug(text))


def second_guess(text: str, intent: str | None,
                 ranking: list[dict]) -> dict | None:
    """The next-ranked intent to take when ``intent`` was overruled, or None (out of scope).

    Only a ``delete_my_data`` guess for a message that asks to erase nothing has a second
    guess: "I forgot" (after a dose reminder) is not a request to erase, but it is still
    the patient talking to us, so the classifier's next answer is the better reading.
    A message about something that is not ours ("cancel my Netflix") has none — its
    next guess would be another look-alike. The returned entry keeps its own
    confidence, so the ``FallbackClassifier`` after the guard still turns a weak
    second guess into ``nlu_fallback``.
    """
    if not _asks_no_erasure(normalise(text), intent):
        return None
    for entry in ranking:
        name = entry.get("name")
        if name in (intent, "nlu_fallback", None) or overrule(text, name):
            continue
        return {"name": name, "confidence": float(entry.get("confidence") or 0.0)}
    return None


# A number alone asks for nothing: it answers the question before it (an age after a
# result, a score, a time), which the fallback reads in context. The classifier read
# "65" as goodbye (0.96): "88" and "886" are bye-bye in chat, as "666" is well done,
# "520" I love you and "233" laughing — those keep their intent.
_NUMBER_ALONE = re.compile(r"\s*\d+(?:\.\d+)?\s*[.。!！?？~]*\s*")
_NUMBER_SLANG = frozenset({"88", "886", "8888", "666", "6666", "520", "1314", "233", "2333"})


def number_alone(text: str) -> bool:
    """Whether ``text`` is only a number (and no chat slang written in digits)."""
    norm = normalise(text or "")
    return bool(_NUMBER_ALONE.fullmatch(norm)) and re.sub(r"[^\d.]", "", norm).strip(
        ".") not in _NUMBER_SLANG
