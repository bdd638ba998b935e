"""Bilingual text: one catalogue, zh and en side by side.

All user-facing text lives in the Rasa domain responses under
``bot/domain/*.yml``; each response has one variation conditioned on
``language: zh`` and one on ``language: en``. Rasa renders them for bot turns;
code outside Rasa (channels, workers, CLI) renders the same entries with
:func:`t`.
"""

from bot.i18n.catalog import Catalog, bilingual, default_catalog, t
from bot.i18n.detect import detect_language, requested_language, says_little

__all__ = ["Catalog", "bilingual", "default_catalog", "t", "detect_language", "requested_language",
           "says_little"]
