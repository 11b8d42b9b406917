"""`manage.py simulate_run`: a realistic run written live, ending in success or failure."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard.experiments.models import ExperimentRun, RunLogLine


def test_it_writes_a_run_that_ends_as_asked(make_experiment):
    experiment = make_experiment()
    out = StringIO()
    call_command(
        "simulate_run",
        "--experiment",
        experiment.experiment_id,
        "--lines",
        "30",
        "--interval",
        "0",
        "--outcome",
        "failed",
        "--seed",
        "3",
        stdout=out,
    )
    runs = list(ExperimentRun.query(experiment.experiment_key))
    assert [run.status for run in runs] == ["failed"]
    stored = list(RunLogLine.query(runs[0].run_key))
    assert len(stored) == 31 and runs[0].line_count == 31
    assert stored[-1].final_status == "failed"
    assert any(line.severity == "critical" for line in stored)
    # A link to open (the default base URL is the development server's).
    url = f"http://127.0.0.1:8000/experiments/{experiment.experiment_id}/runs/{runs[0].run_id}/logs/"
    assert f"watch it at {url}\n" in out.getvalue()


def test_the_link_uses_the_base_url_given(make_experiment):
    experiment = make_experiment()
    out = StringIO()
    call_command(
        "simulate_run",
        *("--experiment", experiment.experiment_id, "--lines", "1", "--interval", "0"),
        *("--base-url", "https://lab.example.com/"),
        stdout=out,
    )
    assert (
        f"watch it at https://lab.example.com/experiments/{experiment.experiment_id}/runs/" in out.getvalue()
    )


def test_it_refuses_an_unknown_experiment():
    with pytest.raises(CommandError, match="not found"):
        call_command("simulate_run", "--experiment", "exp_missing", "--lines", "1", "--interval", "0")
