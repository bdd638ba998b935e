"""Test helpers of the WeChat channel: ``harness`` serves a channel's blueprint over
real HTTP; the WeChat peer (fake API, simulator) is ``channels.wechat.peer``, re-exported
here for the tests. Only tests and benchmarks import this package."""

from channels.wechat.peer import FakeWeChatAPI, SimulatedReply, WeChatSimulator

__all__ = ["FakeWeChatAPI", "WeChatSimulator", "SimulatedReply"]
