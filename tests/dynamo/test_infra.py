"""The AWS side is generated from the models: committed files match, checkov and parliament pass."""

import json
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from dashboard.dynamo import infra
from dashboard.dynamo.tables import all_models
from tests.tools import tool

COMMITTED = Path(settings.BASE_DIR) / "infrastructure"


def test_the_committed_files_are_what_the_models_generate(tmp_path):
    """`make infra-check` in CI: regenerate into tmp, compare byte for byte with the committed files."""
    call_command("generate_infra", out=str(tmp_path))
    generated = sorted(infra.generated_paths(tmp_path))
    assert generated == sorted(infra.generated_paths(COMMITTED))
    for relative in generated:
        assert (tmp_path / relative).read_text() == (COMMITTED / relative).read_text(), relative


def test_infra_check_fails_on_a_hand_edit_and_on_a_stale_file(tmp_path):
    call_command("generate_infra", out=str(tmp_path))
    call_command("generate_infra", out=str(tmp_path), check=True)
    tables = tmp_path / "terraform" / "tables.tf.json"
    tables.write_text(tables.read_text().replace("PAY_PER_REQUEST", "PROVISIONED", 1))
    (tmp_path / "iam" / "old-tier.json").write_text("{}")
    with pytest.raises(CommandError, match="out of date"):
        call_command("generate_infra", out=str(tmp_path), check=True)
    call_command("generate_infra", out=str(tmp_path))
    assert not (tmp_path / "iam" / "old-tier.json").exists()
    call_command("generate_infra", out=str(tmp_path), check=True)


def test_generation_is_deterministic():
    assert infra.render() == infra.render()


def test_every_table_index_and_ttl_of_the_models_is_in_the_terraform():
    tables = json.loads(infra.render()["terraform/tables.tf.json"])["resource"]["aws_dynamodb_table"]
    assert len(tables) == len(all_models())
    for model in all_models():
        spec = infra.table_spec(model)
        table = tables[spec.resource_name]
        assert table["name"] == f"${{var.table_prefix}}-{model.Meta.table_suffix}"
        assert table["billing_mode"] == "PAY_PER_REQUEST"
        assert table["hash_key"] == spec.hash_key and table.get("range_key") == spec.range_key
        indexes = {index["name"]: index for index in table.get("global_secondary_index", [])}
        assert set(indexes) == {i["index_name"] for i in model._get_schema()["global_secondary_indexes"]}
        ttl = model._ttl_attribute()
        assert table.get("ttl") == ([{"attribute_name": ttl.attr_name, "enabled": True}] if ttl else None)
        assert table["server_side_encryption"] == [{"enabled": True, "kms_key_arn": infra.KMS_KEY_ARN}]
        assert table["point_in_time_recovery"] == [{"enabled": infra.PRODUCTION}]
        assert set(table["tags"]) == {"environment", "project", "owner", "cost_centre", "table"}
    sessions = tables["sessions"]["global_secondary_index"]
    assert sessions == [{"name": "user_id-index", "hash_key": "user_id", "projection_type": "KEYS_ONLY"}]


def test_a_table_without_a_declared_tier_access_stops_the_generator(monkeypatch):
    monkeypatch.delitem(infra.TIER_ACCESS, "sessions")
    with pytest.raises(ValueError, match="sessions has no entry in dashboard/dynamo/infra.py TIER_ACCESS"):
        infra.render()


def checkov(folder: Path) -> dict:
    result = subprocess.run(
        [
            tool("checkov"),
            "-d",
            str(folder),
            "--framework",
            "terraform_json",
            "-o",
            "json",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0, result.stderr[-2000:]
    return report


def passed(report: dict, check_id: str) -> set[str]:
    """Names of the resources that passed (checkov's .tf.json names vary: `resource.users`, …)."""
    return {
        c["resource"].split(".")[-1] for c in report["results"]["passed_checks"] if c["check_id"] == check_id
    }


def test_checkov_finds_nothing_wrong_with_the_generated_terraform():
    report = checkov(COMMITTED / "terraform")
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == []
    tables = {infra.table_spec(m).resource_name for m in all_models()}
    assert passed(report, "CKV_AWS_119") == tables  # encrypted with the customer-managed key
    assert passed(report, "CKV_AWS_7") == {"dynamodb"}  # rotation of that key


def test_checkov_sees_point_in_time_recovery_on_every_table_in_production(tmp_path):
    # checkov cannot evaluate `var.environment == "production"` (no result for CKV_AWS_28), so
    # check the production rendering, where the switch is a plain `true`.
    infra.write(tmp_path, infra.render(environment="production"))
    report = checkov(tmp_path / "terraform")
    assert report["results"]["failed_checks"] == []
    assert passed(report, "CKV_AWS_28") == {infra.table_spec(m).resource_name for m in all_models()}


@pytest.mark.parametrize("tier", infra.TIERS)
def test_parliament_finds_nothing_in_the_tier_policy(tier):
    policy = (COMMITTED / "iam" / f"{tier}.json").read_text()
    result = subprocess.run(
        [tool("parliament"), "--string", policy, "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "")


@pytest.mark.parametrize("tier", infra.TIERS)
def test_policies_name_only_the_tier_tables_and_no_wildcards(tier):
    document = json.loads(infra.render()[f"iam/{tier}.json"])
    actions = {a for s in document["Statement"] for a in s["Action"]}
    resources = [r for s in document["Statement"] for r in s["Resource"]]
    assert all("*" not in item for item in [*actions, *resources])
    tables = {r.split(":table/ainw-prod-")[1].split("/")[0] for r in resources if ":table/" in r}
    assert [r for r in resources if ":table/" not in r] == [
        f"arn:aws:kms:us-east-2:111122223333:key/{infra.POLICY_KMS_KEY_ID}"
    ]
    assert tables == {
        suffix for suffix, access in infra.TIER_ACCESS.items() if access[infra.TIERS.index(tier)]
    }


def test_the_ingest_tier_cannot_touch_sessions_users_or_write_api_keys():
    document = json.loads(infra.render()["iam/ingest.json"])
    text = json.dumps(document)
    assert "ainw-prod-sessions" not in text and "ainw-prod-users" not in text
    [write] = [s for s in document["Statement"] if s["Sid"] == "WriteTables"]
    assert not any(r.endswith("-api-keys") for r in write["Resource"])
    assert all(s["Action"] == ["dynamodb:Query"] for s in document["Statement"] if s["Sid"] == "QueryIndexes")


def test_the_web_tier_only_reads_what_machines_report():
    document = json.loads(infra.render()["iam/web.json"])
    [write] = [s for s in document["Statement"] if s["Sid"] == "WriteTables"]
    assert not any(
        r.endswith(("-agent-execution-history", "-experiment-run-logs")) for r in write["Resource"]
    )
