"""WeChat Official Account channel.

``channels.wechat.WeChatInput`` is the Rasa input channel (credentials.yml);
the plain-Python protocol, state, token and sender live in ``bot.wechat``;
``channels.wechat.peer`` has the fake API server and the WeChat simulator
(``medbot wechat-sim``); ``channels.wechat.testing`` the test harness.
"""

from channels.wechat.connector import WeChatInput

__all__ = ["WeChatInput"]
