"""Issue 8 acceptance: consent, handoff to a doctor and back, in headless Chromium.

A patient talks to the real ``medbot run`` (trained model) through the WeChat
simulator and the fake WeChat API; a doctor created with ``medbot doctor add``
works the case in the console (``/console``) in headless Chromium. Everything
goes over real HTTP. The console's element ids are the agreed contract:
``#username #password #login``, ``#handoff-<id> #claim-<id>``, ``#summary
#transcript .msg.msg-patient``, ``#reply-text #send-reply``, ``#close-note
#close-handoff``.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.settings import PROJECT_ROOT
from bot.store.audit_models import AuditEvent
from bot.store.consent_models import ConsentRecord
from bot.store.db import Database
from bot.store.handoff_models import Handoff
from bot.store.models import Message, Patient
from bot.store.staff_models import StaffAccount
from channels.wechat.testing import FakeWeChatAPI, WeChatSimulator
from tests.acceptance.browser import require_browser
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration

OPENID = "oAcceptance01"
DOCTOR = "drwang"
CUSTOM = "message/custom/send"
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture
def medbot(request: pytest.FixtureRequest) -> tuple[RunningService, FakeWeChatAPI, dict[str, str]]:
    """``medbot run`` with WeChat secrets pointing at a fake WeChat API (the session's,
    shared with the WeChat channel tests)."""
    require_browser()  # before the slow start, so a missing browser is reported at once
    return request.getfixturevalue("wechat_medbot")


# -- the patient's side: WeChat ---------------------------------------------------------------
class WeChatPatient:
    """One WeChat user: sends through the simulator, reads passive and CS replies."""

    def __init__(self, running: RunningService, api: FakeWeChatAPI, env: dict[str, str],
                 openid: str) -> None:
        url = f"http://127.0.0.1:{running.rasa_port}/webhooks/wechat/webhook"
        self.sim = WeChatSimulator(url, env["MEDBOT_WECHAT_TOKEN"], env["MEDBOT_WECHAT_APP_ID"],
                                   env["MEDBOT_WECHAT_AES_KEY"], mode="safe")
        self.api = api
        self.openid = openid

    def pushed(self, start: int) -> list[str]:
        """Customer-service messages to this patient since ``api.sent[start]``."""
        return [m.text for m in self.api.sent[start:]
                if m.touser == self.openid and m.path == CUSTOM]

    def say(self, text: str, timeout: float = 30.0) -> str:
        """Send ``text``; the bot's answer, passive or (slow turn, part 2) pushed."""
        start = len(self.api.sent)
        reply = asyncio.run(self.sim.send(self.sim.text(self.openid, text)))
        assert reply.status == 200, reply.body
        if reply.text and not re.match(r"\(1/\d\)", reply.text):
            return reply.text
        deadline = time.monotonic() + timeout
        while not self.pushed(start) and time.monotonic() < deadline:
            time.sleep(0.1)
        return "\n".join([reply.text or "", *self.pushed(start)]).strip()

    def wait_pushed(self, start: int, needle: str, timeout: float = 10.0) -> str:
        """The first CS message since ``start`` that contains ``needle``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in self.pushed(start):
                if needle in text:
                    return text
            time.sleep(0.1)
        raise AssertionError(f"no customer-service message with {needle!r} to the patient "
                             f"within {timeout}s; pushed: {self.pushed(start)}")


# -- the doctor's side: the console in Chromium -----------------------------------------------
def add_doctor(running: RunningService, env: dict[str, str], password: str) -> None:
    """``medbot doctor add`` as an operator runs it, on the service's database."""
    cli_env = {k: v for k, v in os.environ.items() if not k.startswith("MEDBOT_")}
    cli_env.update(env)
    cli_env["MEDBOT_DATA_DIR"] = str(running.data_dir)
    if running.database_url_override:
        cli_env["MEDBOT_DATABASE_URL"] = running.database_url_override
    done = subprocess.run(
        [sys.executable, "-m", "bot", "doctor", "add", DOCTOR, "--name", "王医生",
         "--department", "general_practice", "--password-stdin"],
        input=password + "\n", env=cli_env, cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120)
    assert done.returncode == 0, f"medbot doctor add failed:\n{done.stdout}\n{done.stderr}"


def queued_handoff_id(db: Database) -> int:
    with db.begin() as s:
        row = s.execute(select(Handoff.id, Handoff.status).join(
            Patient, Patient.id == Handoff.patient_id).where(
            Patient.external_id == OPENID).order_by(Handoff.id.desc())).first()
    assert row is not None, "no handoff row for the patient"
    assert row.status == "queued", row.status
    return row.id


def click_and_accept(browser, element) -> None:
    """Click; accept a confirm() dialog if the page asks for one."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    element.click()
    try:
        WebDriverWait(browser, 1).until(ec.alert_is_present()).accept()
    except TimeoutException:
        pass


def doctor_session(browser, base: str, password: str, handoff_id: int,
                   patient: WeChatPatient, shots: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 15)
    browser.get(f"{base}/console/login")
    browser.find_element(By.CSS_SELECTOR, "input#username").send_keys(DOCTOR)
    browser.find_element(By.CSS_SELECTOR, "input#password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button#login").click()

    # the queue: the patient's handoff, claimed
    wait.until(ec.presence_of_element_located((By.ID, f"handoff-{handoff_id}")))
    start = len(patient.api.sent)
    click_and_accept(browser, browser.find_element(By.CSS_SELECTOR, f"button#claim-{handoff_id}"))

    # the handoff page: summary and the transcript, with what the patient sent while queued
    wait.until(ec.visibility_of_element_located((By.ID, "summary")))
    wait.until(ec.text_to_be_present_in_element((By.ID, "transcript"), "头还是很痛"))
    patient_msgs = [e.text for e in browser.find_elements(
        By.CSS_SELECTOR, "#transcript .msg.msg-patient")]
    assert any("头还是很痛" in m for m in patient_msgs), patient_msgs
    browser.save_screenshot(str(shots / "handoff-page.png"))
    patient.wait_pushed(start, "医生已接诊")  # utter_handoff_claimed

    # the doctor's reply reaches the patient as a customer-service message
    answer = f"王医生：请问头痛持续多久了？有没有发烧？#{secrets.token_hex(3)}"
    start = len(patient.api.sent)
    browser.find_element(By.CSS_SELECTOR, "textarea#reply-text").send_keys(answer)
    click_and_accept(browser, browser.find_element(By.CSS_SELECTOR, "button#send-reply"))
    patient.wait_pushed(start, answer)
    browser.save_screenshot(str(shots / "handoff-page-replied.png"))

    # closing: the bot tells the patient it is back (utter_handoff_closed)
    start = len(patient.api.sent)
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "textarea#close-note")))
    browser.find_element(By.CSS_SELECTOR, "textarea#close-note").send_keys(
        "建议观察头痛变化，如加重到门诊就诊。")
    click_and_accept(browser, browser.find_element(By.CSS_SELECTOR, "button#close-handoff"))
    patient.wait_pushed(start, "智能助手继续为您服务")


def test_patient_consents_doctor_claims_replies_and_closes(
        medbot, browser, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    running, api, env = medbot
    db = Database(running.database_url)
    patient = WeChatPatient(running, api, env, OPENID)

    # first contact: the privacy notice and the separate health-information consent
    first = patient.say("你好")
    assert "隐私" in first and "健康信息" in first and "同意" in first, first
    assert "已记录" in patient.say("同意"), "health-data consent not confirmed"
    # a doctor, with the separate handoff consent
    offer = patient.say("我想找医生")
    assert "执业医生" in offer and "同意" in offer, offer
    assert "排队" in patient.say("同意"), "not queued after the handoff consent"
    # queued, no doctor yet: the bot says the patient is waiting (issue 15), forwards it
    waiting = patient.say("我头还是很痛，附上照片")
    assert "等待" in waiting and "120" in waiting, waiting
    handoff_id = queued_handoff_id(db)

    password = f"Acc-{secrets.token_hex(8)}-9!"
    add_doctor(running, env, password)
    try:
        doctor_session(browser, f"http://127.0.0.1:{running.rasa_port}", password, handoff_id,
                       patient, tmp_path)
    except BaseException:
        with capsys.disabled():
            print(f"\n{_keep_evidence(browser, tmp_path)}; medbot log {running.log_path}")
        raise

    # the bot is back: a greeting gets the normal answer (utter_greet)
    assert "您好" in patient.say("你好")
    _check_records(db, handoff_id)


def _keep_evidence(browser, where: Path) -> str:
    """Screenshot and HTML of the page the console was on, for the failure report."""
    from selenium.common.exceptions import WebDriverException
    from urllib3.exceptions import HTTPError

    try:
        browser.save_screenshot(str(where / "failure.png"))
        (where / "failure.html").write_text(browser.page_source, encoding="utf-8")
        return (f"console at {browser.current_url}: screenshots {where}/failure.png "
                f"(and handoff-page.png once reached), page {where}/failure.html")
    except (WebDriverException, HTTPError) as exc:  # the browser itself is gone
        return f"no screenshot (the browser failed: {str(exc)[:200]})"


def _check_records(db: Database, handoff_id: int) -> None:
    with db.begin() as s:
        patient_id, = s.execute(select(Patient.id).where(Patient.external_id == OPENID)).one()
        doctor_id, = s.execute(select(StaffAccount.id)
                               .where(StaffAccount.username == DOCTOR)).one()
        status, = s.execute(select(Handoff.status).where(Handoff.id == handoff_id)).one()
        assert status == "closed"
        views = s.execute(select(AuditEvent).where(
            AuditEvent.action == "transcript.view", AuditEvent.staff_id == doctor_id)
        ).scalars().all()
        assert any(v.patient_id == patient_id or v.handoff_id == handoff_id for v in views), \
            "no transcript.view audit event of the doctor for this patient"
        records = s.execute(select(ConsentRecord).where(ConsentRecord.patient_id == patient_id)
                            .order_by(ConsentRecord.id)).scalars().all()
        granted = {r.purpose: r for r in records if r.decision == "granted"}
        assert set(granted) == {"health_data", "handoff"}, [
            (r.purpose, r.decision) for r in records]
        for record in granted.values():
            assert SHA256.match(record.text_sha256), record.text_sha256
            assert record.text_version
            message = s.get(Message, record.message_id) if record.message_id else None
            assert message is not None, f"{record.purpose}: no message_id"
            assert (message.role, message.text, message.patient_id) == (
                "patient", "同意", patient_id), (record.purpose, message.role, message.text)
        assert granted["handoff"].handoff_id == handoff_id
