"""rasa_sdk action server package: thin adapters over ``bot`` services.

``rasa run actions --actions actions`` imports this package; each feature module
is imported here so its actions register.
"""

from actions import emergency, info, language, triage  # noqa: F401
from actions import reminders  # noqa: F401,E402
from actions import appointments, revisits  # noqa: F401,E402
from actions import handoff  # noqa: F401,E402
from actions import offers  # noqa: F401,E402  (answers to the bot's offers)
