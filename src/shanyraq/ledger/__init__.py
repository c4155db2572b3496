"""A verifiable, append-only ledger: a C2SP tiled transparency log in pure Python.

Modules, one idea each:

* :mod:`.merkle` - RFC 6962/9162 hashing, proofs and their verification
* :mod:`.note` - signed notes and Ed25519 keys
* :mod:`.checkpoint` - checkpoints (origin, size, root) and their verification
* :mod:`.cosignature` - witness cosignatures and witness policies
* :mod:`.keys` - parsing key strings of any supported type
* :mod:`.tiles` - tile and bundle paths and encodings
* :mod:`.storage` - the storage interface, a filesystem store and an in-memory store
* :mod:`.log` - integrating entries into tiles; reading roots, proofs and entries from tiles
* :mod:`.witness` - the add-checkpoint protocol: witness logic and HTTP client
* :mod:`.proof` - offline proof files
* :mod:`.errors` - the exceptions

This package imports only the standard library and ``cryptography``.
"""
