"""The demo seed plays deployments through the state machine: same seed, same data, rules kept."""

import random
from datetime import UTC, datetime, timedelta

from dashboard.registry import lifecycle
from dashboard.registry.demo import People, simulate_model

END = datetime(2026, 6, 1, tzinfo=UTC)


def simulate(seed: int, count: int = 8, **options):
    return simulate_model(
        random.Random(seed),
        model_id="mdl_demo",
        name="churn-classifier",
        task="classification",
        framework="scikit-learn",
        tenant_id="acme",
        project_id="prj_acme_1",
        dataset_ids=["dst_1", "dst_2"],
        people=People(admin="ada@acme.test", staff="staff@diatonic.test"),
        count=count,
        start=END - timedelta(days=90),
        end=END,
        **options,
    )


def test_the_same_seed_gives_the_same_history():
    first, second = simulate(5), simulate(5)
    assert {env: state.as_dict() for env, state in first[0].environments.items()} == {
        env: state.as_dict() for env, state in second[0].environments.items()
    }
    assert [(v.version, v.status, v.metrics) for v in first[1]] == [
        (v.version, v.status, v.metrics) for v in second[1]
    ]


def test_each_environment_has_at_most_one_live_version_matching_the_model():
    # A version may be live in several environments (promoted into production, kept in staging);
    # each environment still has at most one, and it is a deployed version.
    for seed in range(40):
        model, items = simulate(seed)
        for env in lifecycle.ENVIRONMENTS:
            live = [v.version for v in items if env in lifecycle.live_in(model, v)]
            assert len(live) <= 1
            assert model.environments[env].live == (live[0] if live else None)
            assert all(v.status == "deployed" for v in items if env in lifecycle.live_in(model, v))
            assert all(env in lifecycle.live_in(model, v) for v in items if v.environment == env)


def test_the_seed_shows_every_outcome_somewhere():
    statuses = {v.status for seed in range(30) for v in simulate(seed)[1]}
    assert {"deployed", "superseded", "failed", "retired", "registered"} <= statuses
    assert "rolled_back" in statuses or any(
        e.outcome == "rolled_back" for seed in range(30) for v in simulate(seed)[1] for e in v.deployments
    )


def test_a_model_can_be_left_deploying_for_the_demo():
    model, items = simulate(3, leave_deploying=True)
    assert items[-1].status == "deploying" and model.status == "deploying"
    assert model.environments["staging"].pending == items[-1].version


def test_integer_versions_count_up():
    _, items = simulate(2, count=5, integer_versions=True)
    assert [v.version for v in items] == ["1", "2", "3", "4", "5"]
