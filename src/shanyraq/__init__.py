"""Shanyraq: an open-source digital-state platform."""

__version__ = "0.1.0"
