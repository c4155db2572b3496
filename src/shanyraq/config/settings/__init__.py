"""Settings modules: ``base`` (shared), ``demo`` (local SQLite), ``test`` and ``production``."""
