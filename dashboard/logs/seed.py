"""Demo experiments, runs in every state, and their logs (`--log-lines` per finished run)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from dashboard.core.clock import epoch_ms
from dashboard.core.seeding import SeedContext
from dashboard.logs import lines
from dashboard.logs.generator import story_lines
from dashboard.logs.models import Experiment, ExperimentRun, RunLogLine, experiment_key

EXPERIMENTS = (
    ("Learning-rate sweep", "Which learning rate converges fastest without diverging."),
    ("Distillation to small model", "Distil the production model into a cheaper student."),
    ("Retriever fine-tune", "Fine-tune the retriever on this quarter's support tickets."),
    ("Augmentation ablation", "Measure each data augmentation's contribution."),
)
# Newest run first: the first experiment of each tenant has a run going on right now.
STATUS_PLANS = (
    ("running", "succeeded", "failed", "succeeded"),
    ("queued", "succeeded", "cancelled"),
    ("failed", "succeeded"),
)
WRITERS = 3


def _lines_for(ctx: SeedContext, run: ExperimentRun, count: int, outcome: str | None) -> list[RunLogLine]:
    """`count` lines from the run's start, a few hundred ms apart (some in the same millisecond)."""
    return story_lines(
        ctx.rng, run, count, outcome, epoch_ms(run.started_at), (0, 40, 150, 300, 450, 800, 1200)
    )


def _count(run: ExperimentRun, run_lines: list[RunLogLine]) -> None:
    run.line_count = len(run_lines)
    run.error_count = sum(line.severity in lines.ERROR_SEVERITIES for line in run_lines)
    run.warning_count = sum(line.severity == "warning" for line in run_lines)
    run.components = {line.component for line in run_lines} or None


def seed(ctx: SeedContext) -> None:
    per_run = int(ctx.options.get("log_lines") or 3_000)
    experiments, runs, all_lines = [], [], []
    for tenant in ctx.tenants:
        tenant_id = tenant.tenant_id
        author = ctx.admins[tenant_id][0]
        for e_index, project in enumerate(ctx.projects.get(tenant_id, [])[: len(STATUS_PLANS)]):
            name, description = EXPERIMENTS[(e_index + len(tenant_id)) % len(EXPERIMENTS)]
            created = ctx.now - timedelta(days=12 - e_index * 3, hours=ctx.rng.randrange(0, 12))
            experiment_id = f"exp_{tenant_id}_{e_index + 1}"
            experiment = Experiment(
                experiment_key=experiment_key(tenant_id, experiment_id),
                experiment_id=experiment_id,
                project_id=project.project_id,
                tenant_id=tenant_id,
                name=name,
                description=description,
                created_by=author.user_id,
                created_at=created,
            )
            experiments.append(experiment)
            plan = STATUS_PLANS[e_index]
            for r_index, status in enumerate(reversed(plan)):  # oldest first, so ids sort by time
                started = created + timedelta(days=r_index * 2, hours=ctx.rng.randrange(1, 20))
                if status in ("running", "queued"):
                    started = ctx.now - timedelta(minutes=ctx.rng.randrange(5, 90))
                run = ExperimentRun(
                    experiment_key=experiment.experiment_key,
                    experiment_id=experiment.experiment_id,
                    run_id=f"run_{tenant_id}_{e_index + 1}_{r_index + 1:03d}",
                    tenant_id=tenant_id,
                    name=f"{name.split()[0].lower()}-{r_index + 1}",
                    status=status,
                    started_at=started,
                    parameters={"lr": ctx.rng.choice((1e-4, 3e-4, 1e-3)), "epochs": ctx.rng.randint(3, 20)},
                )
                if status == "queued":
                    run_lines = []
                elif status == "running":
                    run_lines = _lines_for(ctx, run, max(1, per_run // 4), None)
                else:
                    run_lines = _lines_for(ctx, run, per_run, status)
                    end_ms = (int(run_lines[-1].ts_ms) if run_lines else epoch_ms(started)) + 500
                    run_lines.append(lines.closing(run, status, end_ms))
                    run.finished_at = lines.timestamp(run_lines[-1])
                _count(run, run_lines)
                runs.append(run)
                all_lines.extend(run_lines)
    ctx.write(Experiment, ctx.progress(experiments, "experiments", total=len(experiments)))
    ctx.write(ExperimentRun, ctx.progress(runs, "experiment-runs", total=len(runs)))
    write_lines(ctx, all_lines)


def write_lines(ctx: SeedContext, all_lines: list[RunLogLine]) -> None:
    """Batch-write the lines from a few threads (DynamoDB takes 25 items per request)."""
    chunks = [all_lines[i : i + 500] for i in range(0, len(all_lines), 500)]
    bar = ctx.progress(range(len(all_lines)), "experiment-run-logs", total=len(all_lines), unit="line")
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for written in pool.map(lambda chunk: ctx.write(RunLogLine, chunk), chunks):
            bar.update(written)
    bar.close()
