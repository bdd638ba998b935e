"""Rasa channel connectors. Every channel logs its traffic through
``channels.boundary.ChannelBoundary``, so transcripts come for free."""
