"""Merging a turn's bot messages and splitting long text for WeChat's byte limits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.hospital import HospitalInfo
from bot.i18n import bilingual as i18n_bilingual

_BREAKS = re.compile(r"(?<=[\n。！？!?；;])|(?<=[.] )")


def merge_messages(messages: Iterable[Mapping[str, Any]]) -> str:
    """One text from Rasa's bot messages: texts, then buttons as a numbered list."""
    parts: list[str] = []
    for message in messages:
        block: list[str] = []
        if message.get("text"):
            block.append(str(message["text"]).strip())
        for i, button in enumerate(message.get("buttons") or [], start=1):
            block.append(f"{i}. {button.get('title', '')}")
        if message.get("image"):
            block.append(str(message["image"]))
        if block:
            parts.append("\n".join(block))
    return "\n\n".join(p for p in parts if p)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _pieces(text: str, limit: int) -> list[str]:
    """Sentence/line pieces, hard-cut only when one sentence alone exceeds ``limit``."""
    out: list[str] = []
    for piece in (p for p in _BREAKS.split(text) if p):
        while _size(piece) > limit:
            cut = limit
            while _size(piece[:cut]) > limit:
                cut -= 1
            out.append(piece[:cut])
            piece = piece[cut:]
        out.append(piece)
    return out


def split_text(text: str, limit: int, max_parts: int | None = None,
               overflow_note: str = "") -> list[str]:
    """Split at sentence/line boundaries into parts of at most ``limit`` UTF-8 bytes.

    Parts are numbered ``(1/n)`` when there is more than one. With ``max_parts``
    the last part ends, after what fits, with ``overflow_note``.
    """
    if _size(text) <= limit:
        return [text]
    label_room = len("(99/99) ".encode()) + 1
    room = limit - label_room
    chunks: list[str] = []
    current = ""
    for piece in _pieces(text, room):
        if current and _size(current + piece) > room:
            chunks.append(current)
            current = ""
        current += piece
    if current:
        chunks.append(current)
    if max_parts is not None and len(chunks) > max_parts:
        note = "\n" + overflow_note if overflow_note else ""
        kept = chunks[: max_parts - 1]
        last = ""
        for piece in _pieces("".join(chunks[max_parts - 1:]), room):
            if _size(last + piece + note) > room:
                break
            last += piece
        chunks = kept + [last.rstrip() + note]
    total = len(chunks)
    if total == 1:
        return [chunks[0].strip()]
    return [f"({i}/{total}) {chunk.strip()}" for i, chunk in enumerate(chunks, start=1)]


def bilingual(key: str, hospital: HospitalInfo) -> str:
    """A catalogue text in Chinese, then English: for answers sent before we know the
    patient's language (events, media, failures)."""
    return i18n_bilingual(key, hospital.params)
