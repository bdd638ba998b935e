"""medbot core: plain Python, never imports rasa."""

__version__ = "0.1.0"
