"""Outbound: the shared token, bounded refresh, the 48-hour window, the outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.clock import utcnow
from bot.store.db import Database
from bot.store.wechat_models import WeChatDelivery, WeChatQuota, WeChatSubscription
from bot.wechat.sender import WeChatSender
from bot.wechat.state import WeChatState
from bot.wechat.token import DatabaseTokenStore, SharedTokenClient
from channels.wechat.testing import FakeWeChatAPI


def _sender(db: Database, api: FakeWeChatAPI, template_id: str = "") -> WeChatSender:
    client = SharedTokenClient(api.app_id, api.app_secret, api.base_url,
                               DatabaseTokenStore(db, f"wechat:{api.app_id}"))
    return WeChatSender(client, db, template_id=template_id, backoff=0.0)


def _inbound(db: Database, openid: str, hours_ago: float = 0) -> None:
    WeChatState(db).claim(f"msg:{openid}", openid)
    with db.begin() as s:
        s.execute(update(WeChatSubscription).where(WeChatSubscription.openid == openid)
                  .values(last_inbound_at=utcnow() - timedelta(hours=hours_ago)))
        s.execute(update(WeChatQuota).where(WeChatQuota.openid == openid)
                  .values(message_at=utcnow() - timedelta(hours=hours_ago)))


def test_processes_share_one_token(db: Database, fake_api: FakeWeChatAPI) -> None:
    """Two senders = two processes: the second must not fetch (and invalidate) a token."""
    first, second = _sender(db, fake_api), _sender(db, fake_api)
    _inbound(db, "oShare0001")
    for sender in (first, second, first, second):
        assert sender.send("oShare0001", "hi").status == "sent"
    assert fake_api.tokens_issued == 1


def test_token_errors_refresh_with_a_bounded_number_of_attempts(
        db: Database, fake_api: FakeWeChatAPI) -> None:
    sender = _sender(db, fake_api)
    _inbound(db, "oToken0001")
    fake_api.fail_next(42001, times=10)
    result = sender.send("oToken0001", "hi")
    assert result.status == "failed" and "42001" in result.error
    with db.begin() as s:
        row = s.execute(select(WeChatDelivery)).scalar_one()
    assert (row.status, row.attempts) == ("failed", 3)


def test_outside_the_48_hour_window_a_template_is_used(db: Database,
                                                       fake_api: FakeWeChatAPI) -> None:
    _inbound(db, "oOld000001", hours_ago=49)
    result = _sender(db, fake_api, template_id="TPL123").send("oOld000001", "复诊提醒", "reminder")
    assert (result.status, result.method) == ("sent", "template")
    assert fake_api.sent[0].path == "message/template/send"
    assert fake_api.sent[0].body["template_id"] == "TPL123"


def test_outside_the_window_without_template_the_failure_is_recorded(
        db: Database, fake_api: FakeWeChatAPI) -> None:
    _inbound(db, "oOld000002", hours_ago=49)
    result = _sender(db, fake_api).send("oOld000002", "复诊提醒", "reminder")
    assert result.status == "failed" and "TEMPLATE_ID" in result.error
    assert fake_api.sent == []
    with db.begin() as s:
        assert s.execute(select(WeChatDelivery.status)).scalar_one() == "failed"


def test_inside_the_window_a_customer_service_message_is_used(
        db: Database, fake_api: FakeWeChatAPI) -> None:
    _inbound(db, "oNew000001", hours_ago=47)
    result = _sender(db, fake_api, template_id="TPL123").send("oNew000001", "hi", "reminder")
    assert result.method == "custom" and fake_api.sent[0].path == "message/custom/send"


def test_api_unreachable_is_recorded(db: Database) -> None:
    api = FakeWeChatAPI().start()
    base = api.base_url
    api.stop()
    client = SharedTokenClient(api.app_id, api.app_secret, base,
                               DatabaseTokenStore(db, "wechat:x"), timeout=1)
    _inbound(db, "oDown00001")
    result = WeChatSender(client, db, backoff=0.0).send("oDown00001", "hi")
    assert result.status == "failed" and "ConnectionError" in result.error


def test_implements_bot_outbound_sender(db: Database, fake_api: FakeWeChatAPI) -> None:
    import pytest

    from bot.outbound import OutboundError, OutboundMessage, OutboundRouter
    from bot.wechat.outbound import WeChatOutboundSender

    router = OutboundRouter()
    router.register(WeChatOutboundSender(_sender(db, fake_api, template_id="TPL")))
    _inbound(db, "oRouter001")
    result = router.send(OutboundMessage("wechat", "oRouter001", "该吃药了", kind="reminder"))
    assert result.via == "custom" and result.channel_message_id.startswith("wechat_outbox:")
    _inbound(db, "oRouter002", hours_ago=72)
    result = router.send(OutboundMessage("wechat", "oRouter002", "复诊", kind="followup",
                                         template_data={"first": "复诊提醒", "remark": "x"}))
    assert result.via == "template"
    assert fake_api.sent[-1].body["data"] == {"first": {"value": "复诊提醒"},
                                             "remark": {"value": "x"}}
    WeChatState(db).set_subscribed("oRouter001", False)
    with pytest.raises(OutboundError) as err:
        router.send(OutboundMessage("wechat", "oRouter001", "hi", kind="reminder"))
    assert err.value.retryable is False
    fake_api.fail_next(-1, times=3)  # system busy: retryable
    with pytest.raises(OutboundError) as err:
        router.send(OutboundMessage("wechat", "oRouter002", "hi", kind="reply"))
    assert err.value.retryable is True


def test_worker_factory_loads_from_the_environment(sqlite_db: Database, fake_api: FakeWeChatAPI,
                                                   monkeypatch) -> None:
    from bot.settings import Settings
    from bot.wechat.outbound import outbound_sender
    from tests.channels.wechat.conftest import AES_KEY, TOKEN

    for key, value in {"MEDBOT_WECHAT_TOKEN": TOKEN, "MEDBOT_WECHAT_APP_ID": fake_api.app_id,
                       "MEDBOT_WECHAT_APP_SECRET": fake_api.app_secret,
                       "MEDBOT_WECHAT_AES_KEY": AES_KEY,
                       "MEDBOT_WECHAT_API_BASE": fake_api.base_url}.items():
        monkeypatch.setenv(key, value)
    sender = outbound_sender(Settings.from_env(), sqlite_db)
    assert sender.channel == "wechat"
    assert sender.sender.client.API_BASE_URL == fake_api.base_url


def test_a_failed_send_keeps_no_access_token_in_the_outbox(db: Database) -> None:
    api = FakeWeChatAPI().start()
    sender = _sender(db, api)
    _inbound(db, "oTokenLeak01")
    assert sender.send("oTokenLeak01", "hi").status == "sent"
    token = api._valid_token
    api.stop()  # the next call fails with its URL (and the token in it) in the error
    result = sender.send("oTokenLeak01", "again")
    assert result.status == "failed" and "access_token=[redacted]" in (result.error or "")
    with db.begin() as s:
        [error] = s.execute(select(WeChatDelivery.last_error).where(
            WeChatDelivery.status == "failed")).scalars().all()
    assert token and token not in error and "access_token=[redacted]" in error
