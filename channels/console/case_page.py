"""The handoff page: summary, full transcript (live), reply and close forms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.clock import as_utc
from bot.console.accounts import Staff
from bot.console.cases import CaseFile, TranscriptLine
from bot.console.worklists import WorklistService
from bot.i18n import t
from channels.console.pages import (
    claim_form,
    csrf,
    details,
    esc,
    label,
    labels_json,
    layout,
    status_text,
    tx,
    when,
)
from channels.console.web import PREFIX

ACTIVE = ("queued", "claimed")


def message_html(line: TranscriptLine, lang: str, tz: str) -> str:
    role = line.role if line.role in ("patient", "bot", "doctor", "system") else "system"
    tag = f'{t(f"utter_console_msg_{role}", lang)} · {when(line.created_at, tz)}'
    return (f'<div class="msg msg-{role}" data-id="{line.id}" data-label="{esc(tag)}">'
            f'{esc(line.text)}</div>')


def _time(raw: Any, tz: str) -> str:
    """A time the summary stored as text (``json.dumps(default=str)``)."""
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            return raw[:16]
        return when(as_utc(moment), tz)
    return ""


def _row(key: str, value: str, lang: str, row_id: str = "") -> str:
    ident = f' id="{row_id}"' if row_id else ""
    return f"<dt>{tx('utter_console_field_' + key, lang)}</dt><dd{ident}>{value}</dd>"


def _triage(triage: dict | None, lang: str, tz: str, department: Callable[[str], str]) -> str:
    if not triage:
        return tx("utter_console_none", lang)
    flags = ", ".join(str(f.get("phrase") or f.get("id")) if isinstance(f, dict) else str(f)
                      for f in triage.get("red_flags") or [])
    reasons = "; ".join(str(r.get(lang) or r.get("en") or r.get("rule")) if isinstance(r, dict)
                        else str(r) for r in triage.get("reasons") or [])
    parts = [
        ("triage_level", label("level", str(triage.get("level")), lang)),
        ("triage_departments", esc(", ".join(department(d) for d in
                                             triage.get("departments") or []))),
        ("triage_red_flags", esc(flags)),
        ("triage_reasons", esc(reasons)),
        ("triage_text", esc(triage.get("text") or "")),
        ("triage_at", esc(_time(triage.get("at"), tz))),
    ]
    return "<ul class=\"plain\">" + "".join(
        f"<li>{tx('utter_console_' + key, lang)}: {value}</li>" for key, value in parts
        if value) + "</ul>"


def _readings(readings: list, lang: str, tz: str) -> str:
    if not readings:
        return tx("utter_console_none", lang)
    items = []
    for r in readings:
        value = (f"{r.get('systolic')}/{r.get('diastolic')}" if r.get("systolic")
                 else str(r.get("value") or ""))
        items.append(f"<li>{esc(_time(r.get('at'), tz))} · {esc(r.get('kind'))} "
                     f"{esc(value)} {esc(r.get('unit') or '')} "
                     f"({label('level', str(r.get('level')), lang)})</li>")
    return f'<ul class="plain">{"".join(items)}</ul>'


def _adherence(adherence: dict | None, lang: str, names: WorklistService) -> str:
    if not adherence:
        return tx("utter_console_none", lang)
    medicines = ", ".join(
        f"{names.name(names.drugs, m.get('drug', ''), lang)} {m.get('dose') or ''}".strip()
        for m in adherence.get("medicines") or [])
    counts = tx("utter_console_adherence_counts", lang,
                **{k: adherence.get(k, 0) for k in ("taken", "skipped", "missed", "snoozed")})
    return f"{esc(medicines)}<br>{counts}"


def _revisit(revisit: dict | None, lang: str, names: WorklistService) -> str:
    if not revisit:
        return tx("utter_console_none", lang)
    drugs = ", ".join(names.name(names.drugs, d, lang) for d in revisit.get("drugs") or [])
    return esc(f"{revisit.get('code')} · "
               f"{names.name(names.conditions, revisit.get('condition') or '', lang)} · "
               f"{revisit.get('diagnosis') or ''} · {drugs}") + \
        f" ({label('revisit', str(revisit.get('status')), lang)})"


def summary_html(case: CaseFile, lang: str, tz: str, department: Callable[[str], str],
                 names: WorklistService) -> str:
    view = case.handoff
    summary = view.summary or {}
    rows = [
        _row("status", f'<span id="status">{esc(view.status)}</span> '
                       f'<span class="muted">{status_text(view.status, lang)}</span>', lang),
        *([_row("patient", esc(case.patient_label), lang)] if case.patient_label else []),
        _row("department", esc(department(view.department_id)), lang),
        _row("reason", label("reason", view.reason, lang), lang, "summary-reason"),
        _row("language", label("language", view.language, lang), lang, "summary-language"),
        _row("created", esc(when(view.created_at, tz)), lang),
        _row("triage", _triage(summary.get("triage"), lang, tz, department), lang,
             "summary-triage"),
        _row("readings", _readings(summary.get("readings") or [], lang, tz), lang,
             "summary-readings"),
        _row("adherence", _adherence(summary.get("adherence"), lang, names), lang,
             "summary-adherence"),
        _row("revisit", _revisit(summary.get("revisit_request"), lang, names), lang,
             "summary-revisit"),
    ]
    trigger = summary.get("trigger") or {}
    if trigger:
        rows.append(_row("trigger", details(trigger), lang))
    if view.close_note:
        rows.append(_row("close_note", esc(view.close_note), lang, "summary-close-note"))
    return f'<section id="summary" class="card"><dl>{"".join(rows)}</dl></section>'


def actions_html(case: CaseFile, staff: Staff, token: str, lang: str) -> str:
    view = case.handoff
    if view.status == "queued":
        return (f'<section class="card actions"><p>{tx("utter_console_claim_first", lang)}</p>'
                f'{claim_form(view.id, token, lang)}</section>')
    if view.status != "claimed" or view.staff_id != staff.id:
        return f'<p class="muted" id="ended">{tx("utter_console_ended", lang)}</p>'
    base = f"{PREFIX}/handoffs/{view.id}"
    return (
        f'<section class="card actions">'
        f'<form method="post" action="{base}/reply" id="reply-form">{csrf(token)}'
        f'<label for="reply-text">{tx("utter_console_reply_label", lang)}</label>'
        '<textarea id="reply-text" name="text" rows="4" maxlength="2000" required></textarea>'
        f'<button type="submit" id="send-reply">{tx("utter_console_send", lang)}</button></form>'
        f'<form method="post" action="{base}/close" id="close-form">{csrf(token)}'
        f'<label for="close-note">{tx("utter_console_close_label", lang)}</label>'
        '<textarea id="close-note" name="note" rows="2" maxlength="2000"></textarea>'
        f'<button type="submit" id="close-handoff" class="danger">'
        f'{tx("utter_console_close_button", lang)}</button></form></section>')


def transcript_html(case: CaseFile, lang: str, tz: str, live: bool) -> str:
    """The conversation (live while the handoff is open), or, for a doctor who has not
    claimed the handoff, only the note that it is shown after claiming."""
    if not case.transcript:
        return (f'<section class="transcript-wrap"><p class="muted" id="summary-only">'
                f'{tx("utter_console_summary_only", lang)}</p></section>')
    last = case.lines[-1].id if case.lines else 0
    lines = "".join(message_html(line, lang, tz) for line in case.lines)
    return (
        f'<section class="transcript-wrap"><h2>{tx("utter_console_transcript_title", lang)}</h2>'
        f'<div id="transcript" data-events="{PREFIX}/handoffs/{case.handoff.id}/events" '
        f'data-after="{last}" data-live="{1 if live else 0}" '
        f'data-labels="{labels_json(lang)}">{lines}</div>'
        f'<p id="live" class="muted" data-off="{tx("utter_console_live_off", lang)}">'
        f'{tx("utter_console_live_on", lang) if live else ""}</p></section>')


def handoff_page(case: CaseFile, staff: Staff, token: str, lang: str, tz: str,
                 department: Callable[[str], str], names: WorklistService,
                 notice: str = "") -> str:
    view = case.handoff
    live = view.status in ACTIVE and case.transcript
    body = (summary_html(case, lang, tz, department, names)
            + transcript_html(case, lang, tz, live) + actions_html(case, staff, token, lang))
    return layout(lang, t("utter_console_handoff_title", lang, id=view.id), body, staff=staff,
                  csrf_token=token, here=f"{PREFIX}/handoffs/{view.id}", notice=notice,
                  scripts=("live.js",) if live else ())
