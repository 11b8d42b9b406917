"""Typed environment, alias and deployment records read the items stored before they were typed.

The model's `environments` and `aliases` were JSONAttributes (JSON text, `S`); a version's
`deployments` a raw ListAttribute of plain maps (`None` stored as NULL). The items here are written
in exactly those forms with the low-level client, read through the models and services, moved
through the state machine (which saves them in the typed form under the same `row_version` lock),
and read again.
"""

from __future__ import annotations

import pytest
from pynamodb.attributes import JSONAttribute, ListAttribute
from pynamodb.exceptions import PutError

from dashboard.api.registry import ModelOut
from dashboard.dynamo.base import client_of
from dashboard.registry import queries, services
from dashboard.registry.models import MlModel, RegistryVersion

SINCE = "2026-11-02T09:00:00+00:00"
STARTED = "2026-11-02T08:55:00+00:00"
NOTHING = {"live": None, "since": None, "by": None, "pending": None, "failed": None}


def model_json(model) -> dict:
    """The model as the API answers it."""
    return ModelOut.of(model).model_dump(mode="json")


def client():
    return client_of(MlModel)


def raw_item(model_class, key: dict) -> dict:
    found = client().get_item(TableName=model_class.Meta.table_name, Key=key, ConsistentRead=True)
    return found["Item"]


def put_old_form(model_id: str) -> None:
    """1.0.0 live in staging and the champion alias, as the untyped attributes stored them (the
    environment maps without `pending_since`, a history row from before `kind`, a stray display key)."""
    model_key = {"model_id": {"S": model_id}}
    model = raw_item(MlModel, model_key)
    environments = {
        "dev": dict(NOTHING),
        "staging": {**NOTHING, "live": "1.0.0", "since": SINCE, "by": "Ada", "stalled": False},
        "production": dict(NOTHING),
    }
    model["environments"] = {"S": JSONAttribute().serialize(environments)}
    model["aliases"] = {
        "S": JSONAttribute().serialize({"champion": {"version": "1.0.0", "since": SINCE, "by": "Ada"}})
    }
    client().put_item(TableName=MlModel.Meta.table_name, Item=model)

    version_key = {"model_id": {"S": model_id}, "version": {"S": "1.0.0"}}
    version = raw_item(RegistryVersion, version_key)
    history = [
        {
            "environment": "staging",
            "from": None,
            "by": "Ada",
            "at": STARTED,
            "outcome": "deployed",
            "finished_at": SINCE,
            "finished_by": "Ada",
            "reason": "first release",
        }
    ]
    version["deployments"] = {"L": ListAttribute().serialize(history)}
    version.update(
        status={"S": "deployed"},
        environment={"S": "staging"},
        stage={"S": "staging"},
        deployed_at={"S": "2026-11-02T09:00:00.000000+0000"},
    )
    client().put_item(TableName=RegistryVersion.Meta.table_name, Item=version)
    assert raw_item(MlModel, model_key)["environments"].keys() == {"S"}
    assert version["deployments"]["L"][0]["M"]["from"] == {"NULL": True}


def test_old_items_read_through_the_typed_records(register, scopes):
    model = register(versions=("1.0.0", "1.1.0"))
    put_old_form(model.model_id)

    stored = queries.get_model(scopes["acme"], model.model_id, consistent=True)
    staging = stored.environments["staging"]
    assert (staging.live, staging.since, staging.by, staging.pending, staging.pending_since) == (
        "1.0.0",
        SINCE,
        "Ada",
        None,
        None,
    )
    assert staging.stalled is False  # the stray stored key is not read; display flags are never stored
    assert list(stored.environments) == ["dev", "staging", "production"]
    assert stored.aliases["champion"].version == "1.0.0"
    assert model_json(stored)["environments"] == {
        "dev": {"live": None, "pending": None, "failed": None, "since": None},
        "staging": {"live": "1.0.0", "pending": None, "failed": None, "since": SINCE},
        "production": {"live": None, "pending": None, "failed": None, "since": None},
    }

    entry = RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True).deployments[0]
    assert (entry.environment, entry.previous, entry.outcome, entry.reason) == (
        "staging",
        None,
        "deployed",
        "first release",
    )
    assert entry.kind == "deploy"  # rows from before `kind` read as the history page always showed them
    rows = queries.deployment_history(queries.model_versions(stored))
    assert [(row.version, row.kind, row.previous, row.reason) for row in rows] == [
        ("1.0.0", "deploy", None, "first release")
    ]
    assert queries.resolve_alias(scopes["acme"], model.model_id, "champion")[1].version == "1.0.0"


def test_old_items_move_on_and_are_saved_typed(register, scopes):
    model = register(versions=("1.0.0", "1.1.0"))
    put_old_form(model.model_id)
    acme = scopes["acme"]

    services.change_status(acme, model.model_id, "1.1.0", "deploying", "staging")
    services.change_status(acme, model.model_id, "1.1.0", "deployed")
    services.set_alias(acme, model.model_id, "challenger", "1.1.0")

    raw_model = raw_item(MlModel, {"model_id": {"S": model.model_id}})
    assert raw_model["environments"].keys() == {"M"} and raw_model["aliases"].keys() == {"M"}
    assert raw_model["environments"]["M"]["staging"]["M"]["live"] == {"S": "1.1.0"}
    assert set(raw_model["aliases"]["M"]) == {"champion", "challenger"}

    stored = MlModel.get(model.model_id, consistent_read=True)
    assert list(model_json(stored)["environments"]) == ["dev", "staging", "production"]  # as before
    assert stored.environments["staging"].live == "1.1.0"
    assert stored.aliases["champion"].since == SINCE  # the old alias survives the new one's save

    old = RegistryVersion.get(model.model_id, "1.0.0", consistent_read=True)
    assert old.status == "superseded"
    (entry,) = old.deployments
    assert (entry.replaced_by, entry.ended_by, entry.reason) == ("1.1.0", acme.actor_label, "first release")
    new = RegistryVersion.get(model.model_id, "1.1.0", consistent_read=True)
    assert new.deployments[-1].previous == "1.0.0"
    raw_new = raw_item(RegistryVersion, {"model_id": {"S": model.model_id}, "version": {"S": "1.1.0"}})
    assert raw_new["deployments"]["L"][-1]["M"]["from"] == {"S": "1.0.0"}  # the key name stays `from`


def test_an_old_model_item_keeps_its_lock(register, scopes):
    """A stale copy of an item read in the old form cannot overwrite the newer one."""
    model = register(versions=("1.0.0", "1.1.0"))
    put_old_form(model.model_id)
    stale = MlModel.get(model.model_id, consistent_read=True)
    services.set_alias(scopes["acme"], model.model_id, "champion", "1.1.0")
    stale.description = "written from a stale copy"
    with pytest.raises(PutError) as failed:
        stale.save()
    assert failed.value.cause_response_code == "ConditionalCheckFailedException"
    assert (
        queries.get_model(scopes["acme"], model.model_id, consistent=True).aliases["champion"].version
        == "1.1.0"
    )
