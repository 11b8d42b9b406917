"""Two people deploying at once: one wins, the other is told; never two live versions."""

import threading

from dashboard.core.errors import Conflict
from dashboard.registry import queries, services
from dashboard.registry.models import RegistryVersion


def race(calls):
    """Run the calls at the same moment; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        barrier.wait()
        try:
            results.append(call())
        except Conflict as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def live_in(model_id: str, environment: str) -> list[str]:
    """What the sparse environment index says is live: the rule the registry must keep."""
    return [
        item.version
        for item in RegistryVersion.by_environment.query(environment, consistent_read=False)
        if item.model_id == model_id
    ]


VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0")


def test_of_five_simultaneous_deploys_one_wins_and_the_others_are_told(register, scopes):
    model = register(versions=VERSIONS)
    staff = scopes["staff@acme"]
    results, errors = race(
        [
            lambda v=v: services.change_status(staff, model.model_id, v, "deploying", "staging")
            for v in VERSIONS
        ]
    )
    assert len(results) == 1 and len(errors) == len(VERSIONS) - 1
    assert all("nothing was changed" in e.message or "already being deployed" in e.message for e in errors)
    summary = queries.get_model(staff, model.model_id, consistent=True)
    assert summary.environments["staging"].pending == results[0].version.version
    deploying = [
        v
        for v in VERSIONS
        if RegistryVersion.get(model.model_id, v, consistent_read=True).status == "deploying"
    ]
    assert deploying == [results[0].version.version]


def test_rounds_of_racing_deploys_never_leave_two_live_versions(register, scopes):
    model = register(versions=VERSIONS)
    people = [scopes["staff@acme"], scopes["acme"]]

    def deploy_and_finish(scope, version):
        def call():
            services.change_status(scope, model.model_id, version, "deploying", "staging")
            return services.change_status(scope, model.model_id, version, "deployed")

        return call

    winners = []
    for round_ in range(3):
        pair = (VERSIONS[(2 * round_) % 5], VERSIONS[(2 * round_ + 1) % 5])
        results, errors = race([deploy_and_finish(p, v) for p, v in zip(people, pair, strict=True)])
        assert len(results) >= 1 or errors
        winners += [r.version.version for r in results]
        current = [
            v
            for v in VERSIONS
            if RegistryVersion.get(model.model_id, v, consistent_read=True).status == "deployed"
        ]
        assert len(current) <= 1
    summary = queries.get_model(people[0], model.model_id, consistent=True)
    assert summary.environments["staging"].live == winners[-1]
    assert live_in(model.model_id, "staging") == [winners[-1]]


def test_a_stale_page_cannot_overwrite_a_newer_change(register, scopes):
    model = register(versions=("1.0.0", "1.1.0"))
    staff = scopes["staff@acme"]
    services.change_status(staff, model.model_id, "1.0.0", "deploying", "dev")
    results, errors = race(
        [
            lambda: services.change_status(staff, model.model_id, "1.0.0", "deployed"),
            lambda: services.change_status(staff, model.model_id, "1.0.0", "failed"),
        ]
    )
    assert len(results) == 1 and len(errors) == 1
    final = RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).status
    assert final == results[0].version.status
