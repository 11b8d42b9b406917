"""`manage.py simulate_run`: write a realistic run's log live, so the viewer can be watched at work."""

from __future__ import annotations

import random
import time

from django.core.management.base import BaseCommand, CommandError

from dashboard.core import clock
from dashboard.core.errors import DashboardError
from dashboard.core.scope import API, AccessScope
from dashboard.dynamo.commands import database_errors_as_sentences
from dashboard.experiments import queries, services
from dashboard.experiments.demo import run_story
from dashboard.experiments.models import Experiment
from dashboard.flows import queries as flows


class Command(BaseCommand):
    help = "Start a run and write its log lines live (a line every few hundred ms), then finish it."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="acme", help="tenant whose experiment gets the run")
        parser.add_argument("--experiment", help="experiment id (default: the tenant's newest)")
        parser.add_argument("--lines", type=int, default=120, help="how many lines to write")
        parser.add_argument("--interval", type=float, default=0.3, help="average seconds between lines")
        parser.add_argument(
            "--outcome", choices=["succeeded", "failed", "random"], default="random", help="how the run ends"
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed (same seed, same story)")
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="where the dashboard runs, for the link to the live viewer (default: %(default)s)",
        )

    def handle(self, **options):
        with database_errors_as_sentences():
            try:
                self._simulate(options)
            except DashboardError as exc:
                raise CommandError(exc.message) from exc

    def _simulate(self, options) -> None:
        rng = random.Random(options["seed"])
        tenant_id = options["tenant"]
        scope = AccessScope(
            role=API, actor_id="simulate_run", actor_label="simulate_run", tenant_id=tenant_id
        )
        experiment = self._experiment(scope, tenant_id, options["experiment"])
        outcome = (
            options["outcome"] if options["outcome"] != "random" else rng.choice(("succeeded", "failed"))
        )
        run = services.start_run(scope, experiment.experiment_id, name=f"simulated-{outcome}")
        url = (
            options["base_url"].rstrip("/")
            + f"/experiments/{experiment.experiment_id}/runs/{run.run_id}/logs/"
        )
        self.stdout.write(f"Run {run.run_id} started; watch it at {url}")
        for seq, event in enumerate(run_story(rng, options["lines"], outcome)):
            line = {
                "run_id": run.run_id,
                "ts": clock.epoch_ms(),
                "seq": seq,
                "severity": event.severity,
                "component": event.component,
                "message": event.message,
                "fields": event.fields,
            }
            services.ingest(scope, experiment.experiment_id, line)
            if options["verbosity"] > 1:
                self.stdout.write(f"{event.severity:<8} [{event.component}] {event.message}")
            if options["interval"] > 0:
                time.sleep(rng.uniform(0.2, 1.8) * options["interval"])
        run = services.finish_run(scope, experiment.experiment_id, run.run_id, outcome)
        self.stdout.write(self.style.SUCCESS(f"Run {run.run_id} {outcome}: {run.line_count} lines."))

    def _experiment(self, scope: AccessScope, tenant_id: str, experiment_id: str | None) -> Experiment:
        if experiment_id:
            return queries.get_experiment(scope, experiment_id)
        newest = list(Experiment.by_tenant.query(tenant_id, scan_index_forward=False, limit=1))
        if newest:
            return newest[0]
        projects = flows.list_projects(scope, limit=1).items
        if not projects:
            raise CommandError(f"Tenant {tenant_id} has no project; run `manage.py seed_demo` first.")
        return services.create_experiment(
            scope, projects[0].project_id, "Simulated runs", "Made by simulate_run"
        )
