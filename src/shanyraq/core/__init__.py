"""Shared kernel: errors, translated text, national identifiers, working days, canonical JSON."""
