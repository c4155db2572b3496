"""``shanyraq worker``: the platform's background work, in one process.

Each round it delivers domain events (life events become proactive offers), processes
applications waiting for automatic steps, sends notifications, issues the documents decisions
ordered (rendered and signed), closes offers past their deadline, and once a day (at the
first round after midnight, local time) tells heads of unit about overdue cases and announces
who reaches the ages proactive services declare. All work comes from tables written in the
transactions that made it necessary and is claimed with leases, so any number of workers can
run and a worker killed at any moment loses nothing: what it held is taken again when its
lease ends.
"""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from shanyraq.casework import services as casework
from shanyraq.documents import services as documents
from shanyraq.events import services as events
from shanyraq.notifications import services as notifications
from shanyraq.proactive import services as proactive


class Command(BaseCommand):
    help = "Run background work: events, offers, casework, notifications, documents, escalations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Do one round and exit.")
        parser.add_argument(
            "--interval", type=float, default=0.5, help="Seconds to wait when idle (0.5)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True  # finish the round in hand, then exit

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        escalated_on = None
        while not stopping:
            close_old_connections()
            done = events.events_dispatch(batch=200).events
            done += casework.work_once(limit=50)
            done += notifications.work_once()
            done += documents.documents_issue_pending().issued
            offers = proactive.work_once()
            done += offers.expired + offers.ages
            today = timezone.localdate()
            if escalated_on != today:
                report = casework.deadlines_escalate(today=today)
                escalated_on = today
                if report.overdue:
                    self.stdout.write(
                        f"overdue cases {report.overdue}, heads told {report.notified}"
                    )
            if options["once"]:
                return
            if not done:
                time.sleep(options["interval"])
