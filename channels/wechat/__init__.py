"""WeChat Official Account channel.

``channels.wechat.WeChatInput`` is the Rasa input channel (credentials.yml);
the plain-Python protocol, state, token and sender live in ``bot.wechat``;
``channels.wechat.testing`` has the fake API server and the WeChat simulator.
"""

from channels.wechat.connector import WeChatInput

__all__ = ["WeChatInput"]
