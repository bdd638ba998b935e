"""Server-rendered pages of the console: layout, login, queue, lists, errors.

Every string comes from ``bot/i18n/ui/console.yml`` through :func:`tx`, and
every value from the database goes through :func:`esc`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.console.accounts import Staff
from bot.console.audit import AuditEntry
from bot.console.worklists import FlagItem, RevisitItem, WorklistService
from bot.errors import KnowledgeBaseError
from bot.handoff.service import HandoffView
from bot.i18n import t
from channels.console.web import CSRF_FIELD, PREFIX


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def tx(key: str, lang: str, **params: object) -> str:
    """A console string, escaped (parameters may be user content)."""
    return esc(t(key, lang, **params))


def label(prefix: str, code: str, lang: str) -> str:
    """The text of a code (``utter_console_<prefix>_<code>``), or the code itself."""
    try:
        return tx(f"utter_console_{prefix}_{code}", lang)
    except KnowledgeBaseError:
        return esc(code)


def when(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def csrf(token: str) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{esc(token)}">'


def layout(lang: str, title: str, body: str, *, staff: Staff | None = None,
           csrf_token: str = "", here: str = f"{PREFIX}/", notice: str = "",
           scripts: Iterable[str] = ()) -> str:
    """The page frame: header with navigation, language switch and sign-out."""
    other = "en" if lang == "zh" else "zh"
    nav = []
    if staff is not None:
        if staff.is_doctor:
            nav += [(f"{PREFIX}/", "utter_console_nav_queue"),
                    (f"{PREFIX}/revisits", "utter_console_nav_revisits"),
                    (f"{PREFIX}/flags", "utter_console_nav_flags")]
        if staff.is_admin:
            nav.append((f"{PREFIX}/audit", "utter_console_nav_audit"))
    links = "".join(f'<a href="{href}">{tx(key, lang)}</a>' for href, key in nav)
    who = ""
    if staff is not None:
        role = t(f"utter_console_staff_{staff.role}", lang)
        name = tx("utter_console_signed_in_as", lang, name=staff.display_name, role=role)
        who = (f'<span class="who">{name}</span>'
               f'<form method="post" action="{PREFIX}/logout" class="inline">{csrf(csrf_token)}'
               f'<button type="submit" id="logout" class="secondary">'
               f'{tx("utter_console_logout", lang)}</button></form>')
    banner = f'<p class="notice" role="alert">{notice}</p>' if notice else ""
    js = "".join(f'<script src="{PREFIX}/assets/{name}" defer></script>' for name in scripts)
    return (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, '
        f'initial-scale=1"><title>{esc(title)} · {tx("utter_console_title", lang)}</title>'
        f'<link rel="stylesheet" href="{PREFIX}/assets/console.css">{js}</head><body>'
        f'<header class="top"><a class="brand" href="{PREFIX}/">'
        f'{tx("utter_console_title", lang)}</a><nav>{links}</nav>{who}'
        f'<a class="lang" id="lang-{other}" href="{esc(here)}?lang={other}">'
        f'{tx("utter_console_switch_language", lang)}</a></header>'
        f'<main>{banner}<h1>{esc(title)}</h1>{body}</main></body></html>')


def login_page(lang: str, token: str, failed: bool = False, signed_out: bool = False) -> str:
    notice = ""
    if failed:
        notice = tx("utter_console_login_failed", lang)
    elif signed_out:
        notice = tx("utter_console_logged_out", lang)
    body = (
        f'<form method="post" action="{PREFIX}/login" id="login-form" class="card">'
        f'{csrf(token)}'
        f'<label for="username">{tx("utter_console_username", lang)}</label>'
        '<input id="username" name="username" autocomplete="username" autocapitalize="none" '
        'required maxlength="64">'
        f'<label for="password">{tx("utter_console_password", lang)}</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" '
        'required maxlength="256">'
        f'<button type="submit" id="login">{tx("utter_console_login_button", lang)}</button>'
        '</form>')
    return layout(lang, t("utter_console_login_title", lang), body, here=f"{PREFIX}/login",
                  notice=notice)


def claim_form(handoff_id: int, token: str, lang: str) -> str:
    return (f'<form method="post" action="{PREFIX}/handoffs/{handoff_id}/claim" class="inline">'
            f'{csrf(token)}<button type="submit" id="claim-{handoff_id}">'
            f'{tx("utter_console_claim", lang)}</button></form>')


def status_text(status: str, lang: str) -> str:
    return label("status", status, lang)


def queue_page(lang: str, staff: Staff, token: str, items: list[HandoffView],
               department: dict[str, str], tz: str, notice: str = "") -> str:
    rows = []
    for item in items:
        claim = claim_form(item.id, token, lang) if item.status == "queued" else ""
        waiting = tx("utter_console_waiting_since", lang, time=when(item.created_at, tz))
        rows.append(
            f'<li id="handoff-{item.id}" class="item status-{esc(item.status)}">'
            f'<div class="item-main"><a id="open-{item.id}" href="{PREFIX}/handoffs/{item.id}">'
            f'#{item.id} · {esc(department.get(item.department_id, item.department_id))}</a>'
            f'<span class="badge">{status_text(item.status, lang)}</span>'
            f'<span>{label("reason", item.reason, lang)}</span>'
            f'<span class="muted">{waiting}</span>'
            f'</div>{claim}</li>')
    listing = (f'<ul class="list" id="queue">{"".join(rows)}</ul>' if rows else
               f'<p class="empty" id="queue-empty">{tx("utter_console_queue_empty", lang)}</p>')
    body = (f'<p class="muted">{tx("utter_console_queue_hint", lang)} '
            f'<a href="{PREFIX}/" id="refresh">{tx("utter_console_refresh", lang)}</a></p>'
            f'{listing}')
    return layout(lang, t("utter_console_queue_title", lang), body, staff=staff,
                  csrf_token=token, notice=notice)


def table(lang: str, columns: list[str], rows: list[list[str]], table_id: str,
          row_ids: list[str]) -> str:
    head = "".join(f"<th>{tx('utter_console_col_' + c, lang)}</th>" for c in columns)
    body = "".join(
        f'<tr id="{rid}">' + "".join(f'<td data-label="{tx("utter_console_col_" + c, lang)}">'
                                     f"{cell}</td>" for c, cell in zip(columns, row)) + "</tr>"
        for rid, row in zip(row_ids, rows))
    return (f'<div class="table-wrap"><table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table></div>')


def revisits_page(lang: str, staff: Staff, token: str, items: list[RevisitItem],
                  names: WorklistService, tz: str) -> str:
    if not items:
        body = f'<p class="empty">{tx("utter_console_revisits_empty", lang)}</p>'
    else:
        rows = [[esc(i.code), esc(i.patient_label),
                 esc(names.name(names.conditions, i.condition_id, lang)), esc(i.diagnosis),
                 esc(i.institution), esc(i.diagnosed_on.isoformat()), esc(i.record_number or ""),
                 esc(", ".join(names.name(names.drugs, d, lang) for d in i.drug_ids)),
                 label("revisit", i.status, lang), esc(when(i.created_at, tz))]
                for i in items]
        body = table(lang, ["code", "patient", "condition", "diagnosis", "institution",
                            "diagnosed_on", "record", "drugs", "status", "created"], rows,
                     "revisits", [f"revisit-{i.id}" for i in items])
    return layout(lang, t("utter_console_revisits_title", lang), body, staff=staff,
                  csrf_token=token, here=f"{PREFIX}/revisits")


def details(detail: dict) -> str:
    return esc("; ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, "")))


def flags_page(lang: str, staff: Staff, token: str, items: list[FlagItem],
               department: dict[str, str], tz: str) -> str:
    hint = f'<p class="muted">{tx("utter_console_flags_hint", lang)}</p>'
    if not items:
        body = hint + f'<p class="empty">{tx("utter_console_flags_empty", lang)}</p>'
    else:
        rows = [[esc(when(i.created_at, tz)), esc(i.patient_label),
                 label("flag", i.reason, lang), label("severity", i.severity, lang),
                 details(i.detail),
                 esc(department.get(i.department_id or "", "")) or tx("utter_console_none",
                                                                      lang)]
                for i in items]
        body = hint + table(lang, ["created", "patient", "reason", "severity", "detail",
                                   "department"], rows, "flags", [f"flag-{i.id}" for i in items])
    return layout(lang, t("utter_console_flags_title", lang), body, staff=staff,
                  csrf_token=token, here=f"{PREFIX}/flags")


def audit_page(lang: str, staff: Staff, token: str, items: list[AuditEntry], tz: str,
               older: int | None) -> str:
    if not items:
        body = f'<p class="empty">{tx("utter_console_audit_empty", lang)}</p>'
    else:
        rows = [[esc(when(e.created_at, tz)), esc(e.actor), esc(e.action),
                 esc(e.patient_id or ""), esc(e.handoff_id or ""), esc(e.detail or ""),
                 esc(e.remote_addr or "")] for e in items]
        body = table(lang, ["time", "actor", "action", "patient_id", "handoff", "detail",
                            "address"], rows, "audit", [f"audit-{e.id}" for e in items])
        if older:
            body += (f'<p><a id="older" href="{PREFIX}/audit?before={older}">'
                     f'{tx("utter_console_older", lang)}</a></p>')
    return layout(lang, t("utter_console_audit_title", lang), body, staff=staff,
                  csrf_token=token, here=f"{PREFIX}/audit")


def error_page(lang: str, message_key: str, status: int, staff: Staff | None = None,
               token: str = "") -> str:
    body = (f'<p class="error" id="error" data-status="{status}">{tx(message_key, lang)}</p>'
            f'<p><a href="{PREFIX}/" class="button">{tx("utter_console_back", lang)}</a></p>')
    return layout(lang, t("utter_console_error_title", lang), body, staff=staff,
                  csrf_token=token)


def labels_json(lang: str) -> str:
    """Role names for the live script (an HTML attribute value)."""
    return esc(json.dumps({r: t(f"utter_console_msg_{r}", lang)
                           for r in ("patient", "bot", "doctor", "system")},
                          ensure_ascii=False))
