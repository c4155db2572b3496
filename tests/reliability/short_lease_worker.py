"""``shanyraq worker`` with shorter leases, for the kill -9 test next to this file.

    python short_lease_worker.py SECONDS [worker options]

A worker killed while it holds work items or deliveries leaves them leased; another worker
takes them once the lease runs out (``casework.services.LEASE`` and
``notifications.services.LEASE``, 60 s each). Everything else is the real command: the test
only shortens the wait, so that it need not sit out a minute after each kill.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import django


def main(argv: list[str]) -> None:
    lease, options = timedelta(seconds=float(argv[0])), argv[1:]
    django.setup()
    from django.core.management import call_command

    from shanyraq.casework import services as casework
    from shanyraq.notifications import services as notifications

    casework.LEASE = lease
    notifications.LEASE = lease  # type: ignore[misc]  # Final in the module, for production
    call_command("worker", *options)


if __name__ == "__main__":
    main(sys.argv[1:])
