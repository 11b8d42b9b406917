"""The AWS side generated from the PynamoDB models: Terraform for the tables, IAM for the tiers.

`manage.py generate_infra` (`make infra`) writes `infrastructure/terraform/*.tf(.json)` and
`infrastructure/iam/{web,ingest}.json`; `--check` (`make infra-check`, and tests/dynamo/test_infra.py
in CI) fails when the committed files differ from what the models generate. The output is a pure
function of the models and of TIER_ACCESS below, so the same models always give the same bytes.

Tiers. The same code runs as two services behind the load balancer:
- `web`: the pages people use with a session (every path but /api/);
- `ingest`: the JSON API that agents and training jobs call with a bearer key (/api/).
TIER_ACCESS says, next to the models, what each tier may do on each table: None (nothing), READ or
WRITE. A new table without an entry stops the generator, so whoever adds one decides its access.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.conf import settings

from dashboard.dynamo.base import _credentials
from dashboard.dynamo.tables import all_models

READ = "read"
WRITE = "write"
TIERS = ("web", "ingest")

# table suffix -> (web tier, ingest tier). How it was decided (read from the code, see the report):
# - web writes what people edit on pages (accounts, sessions, keys, budgets on tenants, templates,
#   ratings, flows, projects, models and the registry); it only reads what machines report
#   (executions, rollups, experiments, runs and their log lines) and datasets (seeded, never edited).
# - ingest authenticates keys (api-keys read), writes what the API records (executions + rollups,
#   experiments, runs, log lines, templates and their search tokens, flows created from a template,
#   node configs, models and registry versions, the audit trail) and reads the rest it shows.
#   It never touches users or sessions (no cookies on the API). It writes `rate-limits` for each
#   key's token bucket and requests per day (dashboard/apikeys/services.py).
TIER_ACCESS: dict[str, tuple[str | None, str | None]] = {
    "tenants": (WRITE, READ),
    "users": (WRITE, None),
    "sessions": (WRITE, None),
    "invitations": (WRITE, None),
    "sign-in-policy": (WRITE, None),
    "passkeys": (WRITE, None),
    "api-keys": (WRITE, READ),
    "audit-events": (WRITE, WRITE),
    "rate-limits": (WRITE, WRITE),
    "agent-templates": (WRITE, WRITE),
    "template-ratings": (WRITE, READ),
    "template-search-tokens": (WRITE, WRITE),
    "projects": (WRITE, READ),
    "studio-flows": (WRITE, WRITE),
    "studio-nodes": (WRITE, WRITE),
    "studio-edges": (WRITE, WRITE),
    "studio-snapshots": (WRITE, WRITE),
    "flow-node-configs": (WRITE, WRITE),
    "experiments": (READ, WRITE),
    "experiment-runs": (READ, WRITE),
    "experiment-run-logs": (READ, WRITE),
    "experiment-run-metrics": (READ, WRITE),
    # Log volume counters and pattern miners: kept by ingestion in the transaction of the lines.
    "experiment-log-stats": (READ, WRITE),
    # Saved views and chosen columns of the log viewer: edited on its page.
    "experiment-log-views": (WRITE, READ),
    "datasets": (READ, READ),
    "models": (WRITE, WRITE),
    "lab-model-registry": (WRITE, WRITE),
    "registry-policies": (WRITE, READ),  # tenant admins protect targets on the pages; the API reads them
    "registry-change-requests": (WRITE, WRITE),  # the API asks for and decides changes too
    "agent-execution-history": (READ, WRITE),
    "execution-rollups": (READ, WRITE),
    # Kept first pages of the top lists: written by whoever reads the overview (pages and the API).
    "rollup-top-pages": (WRITE, WRITE),
    # Settled figures packed per range: built by the importer and the background worker (which runs
    # in either tier, as alerts do), read by the pages.
    "rollup-digests": (WRITE, WRITE),
    "trace-spans": (READ, WRITE),  # OpenTelemetry spans kept as execution steps
    # Staff prices are edited on the prices page (web) or with the prices key (ingest: /api/prices).
    # A re-pricing run is queued by the page (web) and run by the background worker, which runs with
    # the ingest tier's role: it corrects executions, model calls and rollups, and writes its progress.
    "model-prices": (WRITE, WRITE),
    "price-changes": (WRITE, WRITE),
    # Alerts: rules and channels are edited on pages; both tiers evaluate (after an API batch, or a
    # run_alerts pass on either) and so claim firings and write notifications.
    "alert-rules": (WRITE, READ),
    "alert-channels": (WRITE, READ),
    "alert-firings": (WRITE, WRITE),
    "alert-notifications": (WRITE, WRITE),
    "alert-states": (WRITE, WRITE),  # where each metric rule stands: written by whoever evaluates
    "budget-requests": (WRITE, READ),  # asked and decided on pages only
    # Both tiers meter their own DynamoDB calls into the usage table (atomic ADDs).
    "dynamo-usage": (WRITE, WRITE),
    "tenant-erasures": (WRITE, None),  # staff start an export and erase from a page
}

# DynamoDB's IAM actions. Transactions have no action of their own: TransactWriteItems is
# authorised per item as PutItem/UpdateItem/DeleteItem/ConditionCheckItem. DescribeTable serves
# /readyz. Queries on an index are authorised on the index ARN.
READ_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:Query",
]
WRITE_ACTIONS = sorted(
    [
        *READ_ACTIONS,
        "dynamodb:BatchWriteItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
)
INDEX_ACTIONS = ["dynamodb:Query"]
# Staff's Tables page (/account/tables/, web tier) shows each table's TTL next to DescribeTable.
TIER_METADATA_ACTIONS = {"web": ["dynamodb:DescribeTimeToLive"], "ingest": []}

# The plain-JSON policies under infrastructure/iam/ name concrete ARNs. They are generated for
# these values (AWS's documentation account id: replace it, or regenerate with --account/--region/
# --prefix); Terraform's aws_iam_policy resources (iam.tf.json) build the same ARNs from its variables.
POLICY_ACCOUNT = "111122223333"
POLICY_REGION = "us-east-2"
POLICY_PREFIX = "ainw-prod"
POLICY_KMS_KEY_ID = "00000000-0000-0000-0000-000000000000"  # `terraform output -raw kms_key_id`

GENERATED = "Generated by `manage.py generate_infra` from the PynamoDB models. Do not edit; run `make infra`."


@dataclass(frozen=True)
class IndexSpec:
    name: str
    hash_key: str
    range_key: str | None
    projection: str
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    suffix: str
    hash_key: str
    range_key: str | None
    attributes: dict[str, str]  # key attribute name -> DynamoDB type (S, N, B)
    indexes: tuple[IndexSpec, ...]
    ttl_attribute: str | None
    access: dict[str, str | None] = field(default_factory=dict)

    @property
    def resource_name(self) -> str:
        return self.suffix.replace("-", "_")


def _keys(key_schema: list[dict]) -> tuple[str, str | None]:
    by_type = {item["KeyType"]: item["AttributeName"] for item in key_schema}
    return by_type["HASH"], by_type.get("RANGE")


def table_spec(model) -> TableSpec:
    """What the model says its table looks like (key order and list order normalised)."""
    schema = model._get_schema()
    hash_key, range_key = _keys(schema["key_schema"])
    indexes = []
    for index in schema.get("global_secondary_indexes", []):
        index_hash, index_range = _keys(index["key_schema"])
        projection = index["projection"]
        indexes.append(
            IndexSpec(
                name=index["index_name"],
                hash_key=index_hash,
                range_key=index_range,
                projection=projection["ProjectionType"],
                non_key_attributes=tuple(sorted(projection.get("NonKeyAttributes", []))),
            )
        )
    if schema.get("local_secondary_indexes"):
        # None exist; Terraform would need them at creation time, so refuse rather than drop them.
        raise ValueError(f"{model.Meta.table_suffix}: local secondary indexes are not generated yet.")
    attributes = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    ttl = model._ttl_attribute()
    suffix = model.Meta.table_suffix
    if suffix not in TIER_ACCESS:
        raise ValueError(
            f"Table {suffix} has no entry in dashboard/dynamo/infra.py TIER_ACCESS: "
            "decide what the web and ingest tiers may do on it."
        )
    return TableSpec(
        suffix=suffix,
        hash_key=hash_key,
        range_key=range_key,
        attributes=dict(sorted(attributes.items())),
        indexes=tuple(sorted(indexes, key=lambda index: index.name)),
        ttl_attribute=ttl.attr_name if ttl else None,
        access=dict(zip(TIERS, TIER_ACCESS[suffix], strict=True)),
    )


def table_specs() -> list[TableSpec]:
    specs = sorted((table_spec(model) for model in all_models()), key=lambda spec: spec.suffix)
    unknown = set(TIER_ACCESS) - {spec.suffix for spec in specs}
    if unknown:
        raise ValueError(f"TIER_ACCESS names tables no model defines: {', '.join(sorted(unknown))}.")
    return specs


# --- Terraform ----------------------------------------------------------------------------------

PRODUCTION = '${var.environment == "production"}'
# The platform's tagging, on every resource (not provider default_tags: visible in each plan line).
TAGS = {
    "environment": "${var.environment}",
    "project": "${var.project}",
    "owner": "${var.owner}",
    "cost_centre": "${var.cost_centre}",
}
KMS_KEY_ARN = "${aws_kms_key.dynamodb.arn}"


def _variables() -> dict:
    return {
        "//": GENERATED,
        "variable": {
            "environment": {
                "type": "string",
                # Production by default: PITR and deletion protection stay on unless a stack says otherwise.
                "default": "production",
                "description": "dev, staging or production; production turns on PITR and deletion protection.",
                "validation": [
                    {
                        "condition": '${contains(["dev", "staging", "production"], var.environment)}',
                        "error_message": "environment must be dev, staging or production.",
                    }
                ],
            },
            "table_prefix": {
                "type": "string",
                "description": "Tables are named <prefix>-<table>; the same value as DYNAMODB_TABLE_PREFIX.",
            },
            "aws_region": {"type": "string", "default": "us-east-2", "description": "Same as AWS_REGION."},
            "project": {"type": "string", "default": "diatonic-ai-lab", "description": "Tag: project."},
            "owner": {"type": "string", "description": "Tag: the team that owns these tables."},
            "cost_centre": {"type": "string", "description": "Tag: the cost centre billed for them."},
        },
    }


# HCL, not JSON, for this one file: checkov's .tf.json parser cannot read a `terraform` block.
VERSIONS_TF = f"""# {GENERATED}
terraform {{
  required_version = ">= 1.5"
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = ">= 5.30, < 7"
    }}
  }}
}}

provider "aws" {{
  region = var.aws_region
}}

data "aws_caller_identity" "current" {{}}

data "aws_partition" "current" {{}}
"""


def _kms() -> dict:
    # The key policy hands the key to the account's IAM (the AWS default): the role running
    # Terraform needs kms:CreateGrant/DescribeKey; DynamoDB then uses the key through its own grant,
    # so the web and ingest roles need no KMS permission.
    root = (
        "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersTheKeyThroughIAM",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    return {
        "//": GENERATED,
        "resource": {
            "aws_kms_key": {
                "dynamodb": {
                    "description": "${var.table_prefix} DynamoDB tables (server-side encryption)",
                    "enable_key_rotation": True,
                    "deletion_window_in_days": 30,
                    "policy": json.dumps(policy, indent=2),
                    "tags": TAGS,
                }
            },
            "aws_kms_alias": {
                "dynamodb": {
                    "name": "alias/${var.table_prefix}-dynamodb",
                    "target_key_id": "${aws_kms_key.dynamodb.key_id}",
                }
            },
        },
    }


def _table_resource(spec: TableSpec, production) -> dict:
    resource: dict = {
        "name": f"${{var.table_prefix}}-{spec.suffix}",
        "billing_mode": "PAY_PER_REQUEST",
        "hash_key": spec.hash_key,
    }
    if spec.range_key:
        resource["range_key"] = spec.range_key
    resource["attribute"] = [{"name": name, "type": kind} for name, kind in spec.attributes.items()]
    if spec.indexes:
        resource["global_secondary_index"] = []
        for index in spec.indexes:
            block: dict = {"name": index.name, "hash_key": index.hash_key}
            if index.range_key:
                block["range_key"] = index.range_key
            block["projection_type"] = index.projection
            if index.non_key_attributes:
                block["non_key_attributes"] = list(index.non_key_attributes)
            resource["global_secondary_index"].append(block)
    if spec.ttl_attribute:
        resource["ttl"] = [{"attribute_name": spec.ttl_attribute, "enabled": True}]
    resource["server_side_encryption"] = [{"enabled": True, "kms_key_arn": KMS_KEY_ARN}]
    resource["point_in_time_recovery"] = [{"enabled": production}]
    resource["deletion_protection_enabled"] = production
    resource["tags"] = {**TAGS, "table": spec.suffix}
    return resource


def _tables(specs: list[TableSpec], environment: str | None) -> dict:
    # The committed files switch on var.environment. `environment` fixes the switch instead: checkov
    # cannot evaluate an expression (it reports no result for CKV_AWS_28), so the tests check a
    # production rendering too.
    production = PRODUCTION if environment is None else environment == "production"
    return {
        "//": GENERATED,
        "resource": {
            "aws_dynamodb_table": {spec.resource_name: _table_resource(spec, production) for spec in specs}
        },
    }


# Reading and writing a table encrypted with a customer-managed key uses the key on the caller's
# behalf: allowed only through DynamoDB in the tables' region, only on that one key.
KMS_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]


def policy_document(
    specs: list[TableSpec], tier: str, table_arn, index_arn, kms_key_arn: str, region: str
) -> dict:
    """The least-privilege policy of `tier`: its actions, on its tables' ARNs and index ARNs only."""
    statements = []
    for level, actions in ((READ, READ_ACTIONS), (WRITE, WRITE_ACTIONS)):
        tables = [spec for spec in specs if spec.access[tier] == level]
        if tables:
            statements.append(
                {
                    "Sid": f"{level.capitalize()}Tables",
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": [table_arn(spec) for spec in tables],
                }
            )
    if TIER_METADATA_ACTIONS[tier]:
        statements.append(
            {
                "Sid": "DescribeTables",
                "Effect": "Allow",
                "Action": TIER_METADATA_ACTIONS[tier],
                "Resource": [table_arn(spec) for spec in specs if spec.access[tier] is not None],
            }
        )
    indexes = [
        index_arn(spec, index) for spec in specs if spec.access[tier] is not None for index in spec.indexes
    ]
    if indexes:
        statements.append(
            {"Sid": "QueryIndexes", "Effect": "Allow", "Action": INDEX_ACTIONS, "Resource": indexes}
        )
    statements.append(
        {
            "Sid": "UseTheTableKeyThroughDynamoDB",
            "Effect": "Allow",
            "Action": KMS_ACTIONS,
            "Resource": [kms_key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def concrete_policy(
    specs: list[TableSpec], tier: str, account: str, region: str, prefix: str, kms_key_id: str
) -> dict:
    def table_arn(spec: TableSpec) -> str:
        return f"arn:aws:dynamodb:{region}:{account}:table/{prefix}-{spec.suffix}"

    return policy_document(
        specs,
        tier,
        table_arn,
        lambda spec, index: f"{table_arn(spec)}/index/{index.name}",
        kms_key_arn=f"arn:aws:kms:{region}:{account}:key/{kms_key_id}",
        region=region,
    )


def _iam(specs: list[TableSpec]) -> dict:
    def table_arn(spec: TableSpec) -> str:
        return f"${{aws_dynamodb_table.{spec.resource_name}.arn}}"

    policies = {}
    for tier in TIERS:
        document = policy_document(
            specs,
            tier,
            table_arn,
            lambda spec, index: f"{table_arn(spec)}/index/{index.name}",
            kms_key_arn=KMS_KEY_ARN,
            region="${var.aws_region}",
        )
        policies[tier] = {
            "name": f"${{var.table_prefix}}-dashboard-{tier}",
            "description": f"DynamoDB access of the dashboard's {tier} tier (generated from the models)",
            "policy": json.dumps(document, indent=2),
            "tags": TAGS,
        }
    return {"//": GENERATED, "resource": {"aws_iam_policy": policies}}


def _outputs(specs: list[TableSpec]) -> dict:
    return {
        "//": GENERATED,
        "output": {
            "table_names": {
                "value": {spec.suffix: f"${{aws_dynamodb_table.{spec.resource_name}.name}}" for spec in specs}
            },
            "kms_key_arn": {"value": KMS_KEY_ARN},
            "kms_key_id": {"value": "${aws_kms_key.dynamodb.key_id}"},
            "web_policy_arn": {"value": "${aws_iam_policy.web.arn}"},
            "ingest_policy_arn": {"value": "${aws_iam_policy.ingest.arn}"},
        },
    }


def render(
    account: str = POLICY_ACCOUNT,
    region: str = POLICY_REGION,
    prefix: str = POLICY_PREFIX,
    kms_key_id: str = POLICY_KMS_KEY_ID,
    environment: str | None = None,
) -> dict[str, str]:
    """Every generated file: relative path under infrastructure/ -> its exact text."""
    specs = table_specs()
    documents = {
        "terraform/variables.tf.json": _variables(),
        "terraform/kms.tf.json": _kms(),
        "terraform/tables.tf.json": _tables(specs, environment),
        "terraform/iam.tf.json": _iam(specs),
        "terraform/outputs.tf.json": _outputs(specs),
    }
    for tier in TIERS:
        documents[f"iam/{tier}.json"] = concrete_policy(specs, tier, account, region, prefix, kms_key_id)
    files = {"terraform/versions.tf": VERSIONS_TF}
    files.update({path: json.dumps(document, indent=2) + "\n" for path, document in documents.items()})
    return files


def generated_paths(root: Path) -> set[str]:
    """The generated files present under `root` (a stale one, e.g. of a removed table, counts too)."""
    found = set()
    for folder, pattern in (("terraform", "*.tf"), ("terraform", "*.tf.json"), ("iam", "*.json")):
        found |= {f"{folder}/{path.name}" for path in (root / folder).glob(pattern)}
    return found


def write(root: Path, files: dict[str, str]) -> None:
    for stale in generated_paths(root) - set(files):
        (root / stale).unlink()
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def differences(root: Path, files: dict[str, str]) -> list[str]:
    """What differs between the files under `root` and `files`, one sentence each."""
    problems = []
    for relative, text in sorted(files.items()):
        path = root / relative
        if not path.exists():
            problems.append(f"{relative} is missing")
        elif path.read_text() != text:
            problems.append(f"{relative} differs from what the models generate")
    for stale in sorted(generated_paths(root) - set(files)):
        problems.append(f"{stale} is not generated by the models any more")
    return problems


# --- drift: the live tables against the models (manage.py check_tables) -------------------------


def _client():
    """A plain boto3 client: PynamoDB has no public call for DescribeTimeToLive/ContinuousBackups."""
    return boto3.client(
        "dynamodb",
        endpoint_url=settings.DYNAMODB_ENDPOINT_URL,
        region_name=settings.DYNAMODB_REGION,
        config=Config(
            connect_timeout=settings.DYNAMODB_CONNECT_TIMEOUT,
            read_timeout=settings.DYNAMODB_READ_TIMEOUT,
            retries={"max_attempts": settings.DYNAMODB_MAX_RETRIES + 1},
        ),
        **_credentials(),
    )


def _describe_keys(hash_key: str, range_key: str | None) -> str:
    return f"{hash_key} / {range_key}" if range_key else hash_key


def drift(model, production: bool, client=None) -> list[str]:
    """Each way the live table of `model` differs from the model, one sentence each."""
    client = client or _client()
    spec = table_spec(model)
    name = model.Meta.table_name
    try:
        table = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        return [f"{name}: the table is missing (run `manage.py create_tables` or `terraform apply`)"]
    problems = []
    live_keys = _keys(table["KeySchema"])
    if live_keys != (spec.hash_key, spec.range_key):
        problems.append(
            f"{name}: key schema is {_describe_keys(*live_keys)}, "
            f"the model says {_describe_keys(spec.hash_key, spec.range_key)}"
        )
    live_types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    for attribute in filter(None, live_keys):
        if attribute in spec.attributes and live_types.get(attribute) != spec.attributes[attribute]:
            problems.append(
                f"{name}: key attribute {attribute} is of type {live_types.get(attribute)}, "
                f"the model says {spec.attributes[attribute]}"
            )
    live_indexes = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
    for index in spec.indexes:
        live = live_indexes.get(index.name)
        if live is None:
            problems.append(f"{name}: index {index.name} is missing")
            continue
        keys = _keys(live["KeySchema"])
        if keys != (index.hash_key, index.range_key):
            problems.append(
                f"{name}: index {index.name} is keyed {_describe_keys(*keys)}, "
                f"the model says {_describe_keys(index.hash_key, index.range_key)}"
            )
        projection = live.get("Projection", {})
        if (
            projection.get("ProjectionType") != index.projection
            or tuple(sorted(projection.get("NonKeyAttributes", []))) != index.non_key_attributes
        ):
            problems.append(
                f"{name}: index {index.name} projects {projection.get('ProjectionType')}, "
                f"the model says {index.projection}"
            )
    for extra in sorted(set(live_indexes) - {index.name for index in spec.indexes}):
        problems.append(f"{name}: index {extra} exists but no model defines it")
    billing = table.get("BillingModeSummary", {}).get("BillingMode")
    if billing and billing != "PAY_PER_REQUEST":
        problems.append(f"{name}: billing mode is {billing}, not PAY_PER_REQUEST (on-demand)")
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    ttl_on = ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    if spec.ttl_attribute and not ttl_on:
        problems.append(f"{name}: TTL is off (the model expires items by {spec.ttl_attribute})")
    elif spec.ttl_attribute and ttl.get("AttributeName") != spec.ttl_attribute:
        problems.append(f"{name}: TTL uses {ttl.get('AttributeName')}, the model says {spec.ttl_attribute}")
    elif not spec.ttl_attribute and ttl_on:
        problems.append(f"{name}: TTL is on ({ttl.get('AttributeName')}) but the model has no TTL attribute")
    if production:
        try:
            backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "UnknownOperationException":
                raise
            # DynamoDB Local has no backups at all: what cannot be confirmed on counts as off.
            backups = {}
        pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "unknown")
        if pitr != "ENABLED":
            problems.append(f"{name}: point-in-time recovery is off in production (status: {pitr})")
        if not table.get("DeletionProtectionEnabled", False):
            problems.append(f"{name}: deletion protection is off in production")
        if table.get("SSEDescription", {}).get("SSEType") != "KMS":
            problems.append(f"{name}: not encrypted with a KMS key (SSE) in production")
    return problems
