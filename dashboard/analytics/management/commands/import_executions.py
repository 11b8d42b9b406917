"""`manage.py import_executions FILE --tenant T`: backfill execution history from JSON Lines.

Each line is one run as the API takes it plus `agent_id`, checked with the API's rules; a bad line
is reported with its number and nothing of it is written (the other lines are). The file is read as
a stream (memory stays flat), written through the bulk import of dashboard.analytics.services:
importing a file twice, or again after an interruption, counts each execution once.
"""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from dashboard.accounts.queries import get_tenant
from dashboard.analytics import services
from dashboard.core import clock
from dashboard.core.errors import NotFound

MAX_REPORTED = 50  # bad lines shown one by one; the rest are counted


class Command(BaseCommand):
    help = "Import agent executions from a JSON Lines file into one tenant (idempotent, resumable)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON Lines: one run per line, with agent_id; - reads stdin")
        parser.add_argument("--tenant", required=True, help="the tenant the executions belong to")
        parser.add_argument("--threads", type=int, default=4, help="chunks written at once (default 4)")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=services.IMPORT_CHUNK,
            help="executions per chunk (keep it the same on a rerun)",
        )
        parser.add_argument(
            "--window-rows",
            type=int,
            default=services.WINDOW_ROWS,
            help="counter rows summed in memory before they are written (keep it the same on a rerun)",
        )
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(
        self,
        *args,
        file: str,
        tenant: str,
        threads: int,
        chunk_size: int,
        window_rows: int,
        quiet: bool,
        **options,
    ):
        try:
            get_tenant(tenant)
        except NotFound:
            raise CommandError(f"There is no tenant {tenant!r}.") from None
        if file != "-" and not os.path.isfile(file):
            raise CommandError(f"There is no file {file!r}.")
        stream = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115 — closed below
        size = None if file == "-" else os.path.getsize(file)
        bad = 0
        now = clock.now()
        bar = tqdm(total=size, unit="B", unit_scale=True, disable=quiet, desc="importing", dynamic_ncols=True)

        def executions():
            nonlocal bad
            for number, raw in enumerate(stream, start=1):
                bar.update(len(raw))
                text = raw.decode("utf-8", errors="replace").strip()
                if not text:
                    continue
                execution, errors = services.parse_import_line(tenant, text, now)
                if execution is None:
                    bad += 1
                    if bad <= MAX_REPORTED:
                        details = "; ".join(f"{name}: {message}" for name, message in errors.items())
                        bar.write(f"line {number}: {details} (not imported)", file=sys.stderr)
                    continue
                yield execution

        try:
            stats = services.import_stream(
                executions(), threads=threads, chunk_size=max(1, chunk_size), window_rows=max(1, window_rows)
            )
        finally:
            bar.close()
            if stream is not sys.stdin.buffer:
                stream.close()
        self.stdout.write(
            f"{stats.recorded} execution(s) recorded, {stats.skipped} already recorded, {bad} bad line(s); "
            f"{stats.writes} item(s) written; settled days packed in {stats.packing_seconds:.1f} s."
        )
        if bad:
            raise CommandError(f"{bad} line(s) were not imported (see above); the others were.")
