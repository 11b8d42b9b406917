"""Demo data of the experiments area: experiments, runs in every state, their logs (`--log-lines`
per finished run), and the believable training-run stories behind them (also used by `simulate_run`
and the benchmark). Deterministic for a given `random.Random`: the same seed writes the same story.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dashboard.core.clock import epoch_ms
from dashboard.core.seeding import SeedContext
from dashboard.dynamo.transactions import batch_put
from dashboard.experiments import lines, services
from dashboard.experiments.models import (
    Experiment,
    ExperimentRun,
    LogStat,
    RunLogLine,
    RunMetricPoint,
    experiment_key,
    metric_point_key,
)

COMPONENTS = ("trainer", "data", "evaluator", "checkpoint", "scheduler", "gpu", "storage")
MODELS = ("resnet50", "vit-b16", "bert-base", "llama-7b-lora", "t5-small", "whisper-tiny")
DATASETS = ("imagenet-1k", "support-tickets-v3", "invoices-2024", "kb-articles", "call-transcripts")


@dataclass
class LogEvent:
    severity: str
    component: str
    message: str
    fields: dict[str, Any] | None = None


def _setup(rng: random.Random) -> list[LogEvent]:
    model = rng.choice(MODELS)
    dataset = rng.choice(DATASETS)
    batch = rng.choice((16, 32, 64, 128))
    lr = rng.choice((1e-4, 3e-4, 5e-4, 1e-3))
    gpus = rng.choice((1, 2, 4, 8))
    return [
        LogEvent(
            "info", "scheduler", "Run accepted by scheduler", {"queue": "gpu-a100", "priority": "normal"}
        ),
        LogEvent("info", "gpu", f"Allocated {gpus} × A100 80GB", {"gpus": gpus, "driver": "550.54"}),
        LogEvent(
            "debug", "trainer", "Resolved configuration", {"model": model, "batch_size": batch, "lr": lr}
        ),
        LogEvent(
            "info", "data", f"Loading dataset {dataset}", {"dataset": dataset, "shards": rng.randint(8, 64)}
        ),
        LogEvent("info", "storage", "Mounted s3://diatonic-lab-artifacts read-only", {"region": "us-east-2"}),
        LogEvent("info", "trainer", f"Model {model} initialised", {"parameters_m": rng.randint(20, 7000)}),
    ]


def _step(rng: random.Random, step: int, loss: float) -> LogEvent:
    roll = rng.random()
    if roll < 0.55:
        return LogEvent(
            "info",
            "trainer",
            f"step {step} loss={loss:.4f}",
            {"step": step, "loss": round(loss, 4), "lr": 3e-4, "tokens_per_s": rng.randint(9000, 14000)},
        )
    if roll < 0.72:
        return LogEvent("debug", "data", f"prefetched batch {step + 2}", {"queue_depth": rng.randint(1, 8)})
    if roll < 0.80:
        return LogEvent(
            "debug",
            "gpu",
            "utilisation sample",
            {"util_pct": rng.randint(60, 99), "mem_gb": rng.randint(40, 79)},
        )
    if roll < 0.86:
        return LogEvent(
            "info",
            "evaluator",
            f"eval at step {step}: accuracy={min(0.99, 0.5 + step / 20000):.3f}",
            {"step": step, "accuracy": round(min(0.99, 0.5 + step / 20000), 3), "split": "validation"},
        )
    if roll < 0.90:
        return LogEvent(
            "info",
            "checkpoint",
            f"saved checkpoint step-{step}",
            {"path": f"ckpt/step-{step}.pt", "size_mb": 412},
        )
    if roll < 0.955:
        return rng.choice(
            (
                LogEvent(
                    "warning", "data", "data loader slower than the GPU", {"wait_ms": rng.randint(120, 900)}
                ),
                LogEvent(
                    "warning", "gpu", "GPU memory above 90%", {"mem_gb": rng.randint(72, 79), "limit_gb": 80}
                ),
                LogEvent(
                    "warning", "trainer", "gradient norm clipped", {"norm": round(rng.uniform(5, 40), 2)}
                ),
                LogEvent(
                    "warning", "storage", "slow artifact upload, retrying", {"attempt": rng.randint(1, 3)}
                ),
            )
        )
    if roll < 0.97:
        return rng.choice(
            (
                LogEvent("error", "storage", "connection reset while uploading metrics", {"errno": 104}),
                LogEvent(
                    "error",
                    "data",
                    "corrupt record skipped",
                    {"shard": rng.randint(0, 63), "offset": step * 31},
                ),
                LogEvent("error", "evaluator", "metric computation failed: empty batch", {"step": step}),
            )
        )
    return LogEvent("debug", "scheduler", "heartbeat", {"step": step})


def _ending(rng: random.Random, outcome: str, step: int) -> list[LogEvent]:
    if outcome == "succeeded":
        return [
            LogEvent(
                "info", "evaluator", "final evaluation", {"accuracy": round(rng.uniform(0.86, 0.97), 3)}
            ),
            LogEvent("info", "checkpoint", "uploaded final model", {"path": "ckpt/final.pt"}),
            LogEvent("info", "trainer", f"training complete after {step} steps", {"steps": step}),
        ]
    if outcome == "failed":
        return rng.choice(
            (
                [
                    LogEvent("error", "gpu", "CUDA out of memory. Tried to allocate 2.50 GiB", {"device": 0}),
                    LogEvent(
                        "critical", "trainer", "training aborted: unrecoverable GPU error", {"step": step}
                    ),
                ],
                [
                    LogEvent("error", "trainer", "loss is NaN", {"step": step}),
                    LogEvent("critical", "trainer", "training aborted: loss diverged", {"step": step}),
                ],
            )
        )
    return [LogEvent("warning", "scheduler", "cancellation requested by user", {"step": step})]


def run_story(rng: random.Random, total: int, outcome: str | None) -> Iterator[LogEvent]:
    """`total` lines of a training run; its last lines tell the `outcome` (None: still running)."""
    opening = _setup(rng)
    ending = _ending(rng, outcome, total * 7) if outcome else []
    middle = max(0, total - len(opening) - len(ending))
    yield from opening[:total]
    loss = rng.uniform(2.5, 4.0)
    for index in range(middle):
        loss = max(0.05, loss * rng.uniform(0.995, 1.0005))
        yield _step(rng, (index + 1) * 7, loss)
    yield from ending[: max(0, total - len(opening))]


def story_lines(
    rng: random.Random,
    run: ExperimentRun,
    count: int,
    outcome: str | None,
    start_ms: int,
    gaps_ms: tuple[int, ...],
) -> list[RunLogLine]:
    """A run's story as stored lines from `start_ms`, each `rng.choice(gaps_ms)` after the one before."""
    ts_ms, found = start_ms, []
    for seq, event in enumerate(run_story(rng, count, outcome)):
        ts_ms += rng.choice(gaps_ms)
        found.append(
            lines.build(
                run_id=run.run_id,
                experiment_id=run.experiment_id,
                tenant_id=run.tenant_id,
                ts_ms=ts_ms,
                tiebreak=lines.seq_tiebreak(seq),
                severity=event.severity,
                component=event.component,
                message=event.message,
                fields=event.fields,
            )
        )
    return found


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
LOG_LINES = 600  # per finished run (`seed_demo --log-lines`): pages of logs, every severity, a story
RUNNING_LINES = 200  # at most, for the run going on now: its lines end before now


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
    per_run = int(ctx.options.get("log_lines") or LOG_LINES)
    experiments, runs, all_lines, points = [], [], [], []
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
                    run_lines = _lines_for(ctx, run, max(1, min(per_run // 4, RUNNING_LINES)), None)
                else:
                    run_lines = _lines_for(ctx, run, per_run, status)
                    end_ms = (int(run_lines[-1].ts_ms) if run_lines else epoch_ms(started)) + 500
                    run_lines.append(lines.closing(run, status, end_ms))
                    run.finished_at = lines.timestamp(run_lines[-1])
                _count(run, run_lines)
                if status == "running":
                    run.last_write_at = ctx.now  # writing right now, not stalled
                if status != "queued":
                    points.extend(_metric_points(ctx, run, steps=8 if status == "running" else 20))
                runs.append(run)
                all_lines.extend(run_lines)
    ctx.write_all(Experiment, experiments)
    ctx.write_all(ExperimentRun, runs)
    ctx.write_all(RunMetricPoint, points)
    write_lines(ctx, all_lines)


def _metric_points(ctx: SeedContext, run: ExperimentRun, steps: int) -> list[RunMetricPoint]:
    """A falling loss and a rising accuracy, one point per 50 steps; the run's final metrics match."""
    start, floor = ctx.rng.uniform(1.8, 2.6), ctx.rng.uniform(0.15, 0.5)
    found = []
    final = {}
    for index in range(steps):
        step = (index + 1) * 50
        loss = round(floor + (start - floor) * 0.82**index + ctx.rng.uniform(-0.03, 0.03), 4)
        accuracy = round(min(0.99, 0.5 + 0.45 * (1 - 0.85**index) + ctx.rng.uniform(-0.01, 0.01)), 4)
        for name, value in (("loss", loss), ("accuracy", accuracy)):
            found.append(
                RunMetricPoint(
                    run_key=run.run_key,
                    point=metric_point_key(name, step),
                    tenant_id=run.tenant_id,
                    name=name,
                    step=step,
                    value=value,
                )
            )
            final[name] = {"step": step, "value": value}
    run.final_metrics = final
    run.metric_point_count = len(found)
    run.metrics_rev = 1
    return found


def write_lines(ctx: SeedContext, all_lines: list[RunLogLine]) -> None:
    """Batch-write the lines from a few threads (`batch_put`, the import's helper), the bar advancing
    as they land, then what ingestion keeps beside them: the volume counters (put whole, the sums
    ingestion's ADDs would reach) and the mined patterns. The runs' counters were set from the same
    lines (`_count`)."""

    def write(chunk: list[RunLogLine]) -> int:
        batch_put(RunLogLine, chunk)
        return len(chunk)

    chunks = [all_lines[i : i + 250] for i in range(0, len(all_lines), 250)]
    bar = ctx.progress(None, "experiment-run-logs", total=len(all_lines), unit="line")
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for written in pool.map(write, chunks):
            bar.update(written)
    bar.close()
    expires = services.volume_expiry()
    counters = [
        LogStat(pk, sk, expires_at=expires, **counts)
        for (pk, sk), counts in services.volume_counts(all_lines).items()
    ]
    ctx.write_all(LogStat, counters)
    services.mine_patterns(all_lines)
