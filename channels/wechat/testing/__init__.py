"""A WeChat protocol peer for tests, the benchmark and ``medbot wechat-sim``.

- ``FakeWeChatAPI``: the ``api.weixin.qq.com/cgi-bin`` endpoints medbot uses, on
  127.0.0.1, that can be told to fail or to be slow.
- ``WeChatSimulator``: WeChat's server side of the callback: signs, encrypts,
  retries after 5 s exactly as WeChat does, and decrypts the passive reply.
"""

from channels.wechat.testing.fake_api import FakeWeChatAPI
from channels.wechat.testing.simulator import SimulatedReply, WeChatSimulator

__all__ = ["FakeWeChatAPI", "WeChatSimulator", "SimulatedReply"]
