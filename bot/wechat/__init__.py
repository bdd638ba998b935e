"""WeChat Official Account: the plain-Python parts (no rasa).

- ``config``: ``WeChatConfig`` from credentials.yml + ``MEDBOT_WECHAT_*``.
- ``protocol``: signatures, safe XML parsing, AES, reply rendering, text splitting.
- ``state``: exactly-once claims, subscriptions and the 48-hour window (database).
- ``token``: one stable access_token shared by every process (database or Redis),
  force-refreshed only after 40001 and within the platform's limits.
- ``sender``: the outbound sender (customer-service / template messages, outbox).
- ``menu``: the custom menu file and its CLICK-key-to-intent map.
"""
