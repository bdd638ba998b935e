"""WeChat's side of the protocol, for ``medbot wechat-sim``, the benchmarks and tests.

- ``FakeWeChatAPI``: the ``api.weixin.qq.com/cgi-bin`` endpoints medbot uses, on
  127.0.0.1, that can be told to fail or to be slow.
- ``WeChatSimulator``: WeChat's server side of the callback: signs, encrypts,
  retries after 5 s exactly as WeChat does, and decrypts the passive reply.

A development tool that ships with the channel (the CLI's simulator runs it), so it
lives beside the channel; the test-only harness is ``channels.wechat.testing``.
"""

from channels.wechat.peer.fake_api import FakeWeChatAPI
from channels.wechat.peer.simulator import SimulatedReply, WeChatSimulator

__all__ = ["FakeWeChatAPI", "WeChatSimulator", "SimulatedReply"]
