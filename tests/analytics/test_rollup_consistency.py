"""The rollups always equal a recomputation from the raw executions, whatever the load."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

from dashboard.analytics import generator, services
from dashboard.core import clock
from dashboard.core.clock import iso_ms, parse_iso
from tests.analytics.conftest import raw_executions, recomputed_rollups, stored_rollups


def test_rollups_equal_the_history_after_a_mixed_concurrent_load_with_duplicates(tenant):
    executions = list(
        generator.generate(
            random.Random(5),
            tenant.tenant_id,
            ["ann", "bob", "cy"],
            120,
            clock.now(),
            days=20,
            id_prefix="mix",
        )
    )
    # Four writers at once, each sending an overlapping half: every execution is sent twice,
    # often at the same moment, and every writer fights over the same day/agent/model rows.
    slices = [executions[0::2], executions[1::2], executions[::-2], executions[-2::-2]]
    outcomes: list[services.Outcome] = []
    errors: list[BaseException] = []

    def writer(batch):
        try:
            for execution in batch:
                outcomes.append(services.write_execution(_copy(execution)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(batch,)) for batch in slices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Retries through the API, some moved in time (a client whose clock drifted): counted once still.
    for execution in executions[:10]:
        body = {
            "execution_id": execution.execution_id,
            "user_id": execution.user_id,
            "model": execution.model,
            "status": execution.status,
            "started_at": iso_ms(parse_iso(execution.started_at) + timedelta(seconds=3)),
            "duration_ms": int(execution.duration_ms),
            "tokens_in": int(execution.tokens_in),
            "tokens_out": int(execution.tokens_out),
        }
        status, answer = tenant.post(execution.agent_id, body)
        assert (status, answer["runs"][0]["result"]) == (200, "already_recorded")

    assert sum(outcome.recorded for outcome in outcomes) == len(executions)
    assert len(raw_executions(tenant.tenant_id)) == len(executions)
    stored = stored_rollups(tenant.tenant_id)
    assert stored == recomputed_rollups(tenant.tenant_id)
    total = sum(row["count"] for (pk, _), row in stored.items() if pk.endswith("#total"))
    assert total == len(executions)


def _copy(execution):
    """A fresh model object per attempt (threads must not share one)."""
    return type(execution).from_raw_data(execution.serialize())
