"""The version of goship, on its own so any module can say it without importing the rest."""

__version__ = "0.1.0"
