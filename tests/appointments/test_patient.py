"""Name and phone validation, and masking for logs."""

from __future__ import annotations

import pytest

from bot.appointments.errors import InvalidNameError, InvalidPhoneError
from bot.appointments.patient import (
    normalise_name,
    normalise_phone,
)
from bot.masking import mask_name, mask_phone, mask_text


@pytest.mark.parametrize(("raw", "phone"), [
    ("13812345678", "13812345678"), ("+86 138 1234 5678", "13812345678"),
    ("8613812345678", "13812345678"), ("138-1234-5678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"), ("0086 19912345678", "19912345678"),
])
def test_valid_mobiles(raw, phone) -> None:
    assert normalise_phone(raw) == phone


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "010-12345678",
                                 "abc", "", "+1 415 555 0100"])
def test_invalid_mobiles(raw) -> None:
    with pytest.raises(InvalidPhoneError):
        normalise_phone(raw)


@pytest.mark.parametrize(("raw", "name"), [("张三", "张三"), ("  John   Smith ", "John Smith"),
                                           ("阿卜杜·热合曼", "阿卜杜·热合曼"), ("O'Brien", "O'Brien")])
def test_valid_names(raw, name) -> None:
    assert normalise_name(raw) == name


@pytest.mark.parametrize("raw", ["", "   ", "张3", "x" * 41, "<script>", "a_b", "13812345678"])
def test_invalid_names(raw) -> None:
    with pytest.raises(InvalidNameError):
        normalise_name(raw)


def test_masking() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""
    assert mask_name("张三丰") == "张**"
    assert mask_name("John Smith") == "J*** S****"
    assert mask_text("我的电话13812345678，明天上午") == "我的电话138****5678，明天上午"


def test_booking_logs_are_masked(service, caplog) -> None:
    from datetime import date

    from bot.appointments.dates import WhenSpec
    from tests.appointments.conftest import patient

    slot = service.availability("cardiology", WhenSpec(day=date(2026, 11, 23))).slots[0]
    with caplog.at_level("DEBUG"):
        service.book(patient(), slot.slot_id, "张三丰", "13812345678")
    assert caplog.records
    assert "13812345678" not in caplog.text and "张三丰" not in caplog.text
    assert "138****5678" in caplog.text


@pytest.mark.parametrize(("text", "name"), [
    ("我叫王秀英，想挂心内科", "王秀英"),
    ("病人叫刘德华想看骨科", "刘德华"),
    ("I want to book for my son, patient name is Tom Li", "Tom Li"),
    ("the patient is my mother", None),
    ("我想挂心内科下周三上午", None),
    ("帮我挂号 我叫什么不重要", None),
])
def test_name_in_a_longer_message_only_after_a_marker(text, name) -> None:
    from bot.appointments.patient import name_in_text
    assert name_in_text(text) == name
