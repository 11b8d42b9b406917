"""Recording executions: validation, cost, and the one transaction that keeps rollups equal to history.

Each execution is written in its own TransactWrite (7 items, far below DynamoDB's 100):
- put the execution, on condition it does not exist;
- put the id guard `tenant#execution#<id>` / `guard`, on condition it does not exist, so the same id
  sent again with another agent or start time cannot be counted twice;
- ADD the execution's counters to its five rollup rows (total, agent, model, user, status of its day).

Agent, user and execution ids are the clients' own names: every key that holds one carries the tenant
(`models.scoped_key`), so two tenants may both run a `support-bot` and neither can touch the other's.

Either all of it lands or none does. A repeat fails the guard's condition and is answered
"already recorded" (counted once). Concurrent writers to the same rollup rows make DynamoDB cancel
one transaction with `TransactionConflict`; that one is retried with backoff.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator
from pynamodb.exceptions import TransactWriteError

from dashboard.accounts.scope import API, AccessScope
from dashboard.analytics import pricing, rollups
from dashboard.analytics.models import (
    EXECUTION_STATUSES,
    EXECUTION_TTL_DAYS,
    Execution,
    ExecutionRollup,
    scoped_key,
)
from dashboard.core import clock
from dashboard.core.clock import iso_ms, parse_iso
from dashboard.core.errors import NotFound, ServiceUnavailable, ValidationFailed
from dashboard.dynamo.base import transact_write
from dashboard.dynamo.transactions import cancellation_codes

BATCH_LIMIT = 25
TEXT_LIMIT = 8_000  # characters kept of input and of output; longer text is cut and flagged
ERROR_LIMIT = 2_000  # characters kept of the error message
FUTURE_TOLERANCE = timedelta(minutes=5)  # clock skew allowed for started_at
MAX_ATTEMPTS = 8
MAX_DURATION = timedelta(hours=24)  # the same bound as duration_ms in RUN_SCHEMA
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$"  # no '#': ids become parts of keys

RUN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["execution_id", "user_id", "model", "status", "started_at"],
    "properties": {
        "execution_id": {"type": "string", "pattern": ID_PATTERN},
        "user_id": {"type": "string", "pattern": ID_PATTERN},
        "model": {"type": "string", "pattern": ID_PATTERN},
        "status": {"enum": list(EXECUTION_STATUSES)},
        "started_at": {"type": "string", "minLength": 10, "maxLength": 40},
        "finished_at": {"type": ["string", "null"], "minLength": 10, "maxLength": 40},
        "duration_ms": {"type": "integer", "minimum": 0, "maximum": 86_400_000},
        "input": {"type": "string"},
        "output": {"type": "string"},
        "tokens_in": {"type": "integer", "minimum": 0, "maximum": 100_000_000},
        "tokens_out": {"type": "integer", "minimum": 0, "maximum": 100_000_000},
        "cost_micro_usd": {"type": "integer", "minimum": 0, "maximum": 1_000_000_000_000},
        "error": {"type": ["string", "null"]},
    },
}
BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["runs"],
    "properties": {"runs": {"type": "array", "minItems": 1, "maxItems": BATCH_LIMIT}},
}
_run_validator = Draft202012Validator(RUN_SCHEMA)
_batch_validator = Draft202012Validator(BATCH_SCHEMA)
_agent_validator = Draft202012Validator({"type": "string", "pattern": ID_PATTERN})


@dataclass
class Outcome:
    execution_id: str
    recorded: bool  # False: the id was already recorded (nothing counted again)
    cost_micro_usd: int
    started_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "result": "recorded" if self.recorded else "already_recorded",
            "cost_micro_usd": self.cost_micro_usd,
            "started_at": self.started_at,
        }


def _schema_errors(validator: Draft202012Validator, data: Any, prefix: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            where = f"{where}.{missing}" if where else missing
            message = "This field is required."
        elif error.validator == "additionalProperties":
            message = f"Unknown field(s): {error.message.split('(')[-1].rstrip(')')}"
        elif error.validator == "pattern":
            message = "Use 1–128 letters, digits or . _ : @ / - (no spaces or #)."
        elif error.validator == "enum":
            message = f"Must be one of: {', '.join(EXECUTION_STATUSES)}."
        else:
            message = error.message
        errors.setdefault(f"{prefix}{where}" if where else (prefix.rstrip(".") or "body"), message)
    return errors


def _truncate(text: str, limit: int) -> tuple[str, bool]:
    return (text[:limit], True) if len(text) > limit else (text, False)


def build_execution(
    tenant_id: str, agent_id: str, run: dict[str, Any], now: datetime
) -> tuple[Execution | None, dict]:
    """An unsaved Execution from a schema-valid run, or the field errors that stop it."""
    errors: dict[str, str] = {}
    try:
        started = parse_iso(run["started_at"])
    except ValueError:
        return None, {"started_at": "Use an ISO-8601 time, e.g. 2025-11-26T09:30:00.000Z."}
    if started > now + FUTURE_TOLERANCE:
        return None, {"started_at": "This time is in the future."}
    if started <= now - timedelta(days=EXECUTION_TTL_DAYS):
        return None, {"started_at": f"Executions older than {EXECUTION_TTL_DAYS} days are not kept."}
    finished = None
    if run.get("finished_at"):
        try:
            finished = parse_iso(run["finished_at"])
        except ValueError:
            errors["finished_at"] = "Use an ISO-8601 time, e.g. 2025-11-26T09:30:02.500Z."
        else:
            if finished < started:
                errors["finished_at"] = "An execution cannot finish before it starts."
            elif finished - started > MAX_DURATION:
                errors["finished_at"] = "An execution lasts at most 24 hours: check this time."
    duration = run.get("duration_ms")
    if duration is None:
        if finished is None:
            errors.setdefault("duration_ms", "Send duration_ms or finished_at.")
        else:
            duration = round((finished - started).total_seconds() * 1000)
    if finished is None and duration is not None and "finished_at" not in errors:
        finished = started + timedelta(milliseconds=duration)
    tokens_in, tokens_out = run.get("tokens_in", 0), run.get("tokens_out", 0)
    cost = run.get("cost_micro_usd")
    if cost is None:
        price = pricing.price_for(run["model"])
        if price is None:
            errors["cost_micro_usd"] = f"No price is known for model {run['model']}: send cost_micro_usd."
        else:
            cost = pricing.cost_micro_usd(price, tokens_in, tokens_out)
    if errors:
        return None, errors
    text_in, cut_in = _truncate(run.get("input") or "", TEXT_LIMIT)
    text_out, cut_out = _truncate(run.get("output") or "", TEXT_LIMIT)
    error_text = run.get("error") or None
    started_at = iso_ms(started)
    execution = Execution(
        agent_key=scoped_key(tenant_id, agent_id),
        sk=f"{started_at}#{run['execution_id']}",
        agent_id=agent_id,
        execution_id=run["execution_id"],
        tenant_execution=scoped_key(tenant_id, run["execution_id"]),
        tenant_id=tenant_id,
        tenant_status=f"{tenant_id}#{run['status']}",
        user_id=run["user_id"],
        tenant_user=scoped_key(tenant_id, run["user_id"]),
        model=run["model"],
        status=run["status"],
        started_at=started_at,
        finished_at=iso_ms(finished) if finished else None,
        duration_ms=duration,
        input=text_in,
        output=text_out,
        truncated=cut_in or cut_out,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_micro_usd=cost,
        error=error_text[:ERROR_LIMIT] if error_text else None,
        expires_at=started + timedelta(days=EXECUTION_TTL_DAYS),
    )
    return execution, {}


def _parse_batch(body: Any) -> tuple[list[Any], bool]:
    if isinstance(body, dict) and "runs" in body:
        errors = _schema_errors(_batch_validator, body, "")
        if errors:
            raise ValidationFailed(f'A batch holds 1 to {BATCH_LIMIT} runs under "runs".', errors)
        return body["runs"], True
    if isinstance(body, list):
        raise ValidationFailed(
            f'Send one run as an object, or a batch as {{"runs": [...]}} (at most {BATCH_LIMIT}).',
            {"body": "a list"},
        )
    return [body], False


def is_valid_id(value: str) -> bool:
    return _agent_validator.is_valid(value)


def check_agent_id(agent_id: str) -> None:
    if not is_valid_id(agent_id):
        raise NotFound("That agent was not found.")


def guard_key(tenant_id: str, execution_id: str) -> tuple[str, str]:
    return f"{tenant_id}#execution#{execution_id}", "guard"


def record_runs(scope: AccessScope, agent_id: str, body: Any) -> list[Outcome]:
    """Validate the whole body first (nothing is written when any run is invalid), then record each."""
    scope.require_role(API)
    tenant_id = scope.require_tenant()
    check_agent_id(agent_id)
    runs, is_batch = _parse_batch(body)
    now = clock.now()
    executions: list[Execution] = []
    errors: dict[str, str] = {}
    for index, run in enumerate(runs):
        prefix = f"runs.{index}." if is_batch else ""
        run_errors = _schema_errors(_run_validator, run, prefix)
        if not run_errors:
            execution, field_errors = build_execution(tenant_id, agent_id, run, now)
            run_errors = {f"{prefix}{name}": message for name, message in field_errors.items()}
            if execution is not None:
                executions.append(execution)
        errors.update(run_errors)
    ids = [execution.execution_id for execution in executions]
    for index, execution_id in enumerate(ids):
        if execution_id in ids[:index]:
            errors[f"runs.{index}.execution_id"] = "This execution id appears twice in the batch."
    if errors:
        invalid = len({name.split(".")[1] if is_batch else "0" for name in errors})
        raise ValidationFailed(
            f"{invalid} of {len(runs)} run(s) are invalid; nothing was recorded."
            if is_batch
            else "The run is invalid; nothing was recorded.",
            errors,
        )
    return [write_execution(execution) for execution in executions]


def write_execution(execution: Execution) -> Outcome:
    """The one transaction of the module docstring; retried when it only lost a race."""
    tenant_id = execution.tenant_id
    added = rollups.increments(execution)
    delay = 0.02
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with transact_write() as tx:
                tx.save(execution, condition=Execution.agent_key.does_not_exist())
                tx.save(
                    ExecutionRollup(
                        *guard_key(tenant_id, execution.execution_id),
                        tenant_id=tenant_id,
                        ref=f"{execution.agent_key}|{execution.sk}",
                    ),
                    condition=ExecutionRollup.pk.does_not_exist(),
                )
                actions = [getattr(ExecutionRollup, name).add(value) for name, value in added.items()]
                for row_pk, row_sk in rollups.keys_for(execution):
                    tx.update(ExecutionRollup(row_pk, row_sk), actions=actions)
            return Outcome(execution.execution_id, True, execution.cost_micro_usd, execution.started_at)
        except TransactWriteError as exc:
            reasons = cancellation_codes(exc)
            # The first two items are the execution and its id guard: either failing means "seen".
            if "ConditionalCheckFailed" in reasons[:2]:
                return Outcome(execution.execution_id, False, execution.cost_micro_usd, execution.started_at)
            if attempt == MAX_ATTEMPTS:
                raise ServiceUnavailable(
                    "Too many concurrent writes to the same counters; try again shortly."
                ) from exc
            time.sleep(delay * (1 + random.random()))  # noqa: S311 — jitter, not security
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")
