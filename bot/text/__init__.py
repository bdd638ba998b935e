"""Reading the patient's words, shared by every feature.

* :mod:`bot.text.normalise`: the one normal form of a message
  (:func:`normalise`) and the bound on a form answer (:func:`too_long`);
* :mod:`bot.text.numbers`: the one reader of numbers, Arabic and Chinese,
  exact or approximate ("两三", "十几"; :func:`read_number`, :func:`read_int`);
* :mod:`bot.text.yesno`: the one reader of yes / no / not sure in zh and en
  (:func:`read_reply`, :func:`read_yes_no`, :func:`read_confirmation`).

Nothing here knows a feature: each caller says what an approximate number or
an unclear reply means for its own question. ``tests/text`` holds the same
inputs against every caller, so that they cannot drift apart again.
"""

from bot.text.normalise import MAX_ANSWER_CHARS, normalise, too_long
from bot.text.numbers import Numeral, read_int, read_number

__all__ = ["MAX_ANSWER_CHARS", "Numeral", "normalise", "read_int", "read_number", "too_long"]
