"""Rasa graph components (these modules import rasa; ``bot`` never does)."""
