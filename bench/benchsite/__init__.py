"""Settings and URLs used only by bench/catalog.py: the production site plus a constant view."""
