"""The one place where PynamoDB models learn their table name, endpoint and credentials."""

from __future__ import annotations

from urllib.parse import urlparse

from botocore.loaders import create_loader
from django.conf import settings
from pynamodb.connection import Connection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from dashboard.dynamo import metrics
from dashboard.dynamo.local import LOOPBACK

# Every model class registers itself here (create_tables, describe_tables, tests use it).
MODELS: list[type[Model]] = []

# PynamoDB gives each model a connection of its own, and each builds its botocore client from a
# session of its own, whose loader reads the DynamoDB service description afresh: 8 MB and 25,000
# objects per model (266 MB resident for the 32 clients of a web worker or the importer, all walked
# by every full garbage collection). One loader, and so one copy, serves every client.
_LOADER = create_loader()


def _client(connection: Connection):
    """The connection's botocore client, built on the shared loader, its calls counted."""
    if getattr(connection, "_client", None) is None:  # not built yet: give its session the loader
        connection.session.register_component("data_loader", _LOADER)
    client = connection.client
    metrics.instrument(client)
    return client


def table_name(suffix: str) -> str:
    return f"{settings.DYNAMODB_TABLE_PREFIX}-{suffix}"


def _credentials() -> dict[str, str | None]:
    # DynamoDB Local partitions data by access key unless -sharedDb; fixed fake keys keep one view.
    # Only an endpoint on this machine is DynamoDB Local: any other endpoint (AWS, a VPC or FIPS
    # endpoint, another DynamoDB-compatible service) gets None, i.e. botocore's normal credential chain.
    if is_loopback(settings.DYNAMODB_ENDPOINT_URL):
        return {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return {"aws_access_key_id": None, "aws_secret_access_key": None}


def is_loopback(endpoint_url: str | None) -> bool:
    return bool(endpoint_url) and urlparse(endpoint_url).hostname in LOOPBACK


def _connection_options() -> dict:
    return {
        "region": settings.DYNAMODB_REGION,
        "host": settings.DYNAMODB_ENDPOINT_URL,
        "connect_timeout_seconds": settings.DYNAMODB_CONNECT_TIMEOUT,
        "read_timeout_seconds": settings.DYNAMODB_READ_TIMEOUT,
        "max_retry_attempts": settings.DYNAMODB_MAX_RETRIES,
        "max_pool_connections": settings.DYNAMODB_MAX_POOL_CONNECTIONS,
        **_credentials(),
    }


def table_meta(suffix: str) -> type:
    """Build a model's Meta from settings: `Meta = table_meta("users")`."""
    attrs = {"table_suffix": suffix, "table_name": table_name(suffix), "billing_mode": "PAY_PER_REQUEST"}
    attrs.update(_connection_options())
    return type("Meta", (), attrs)


class DynamoModel(Model):
    """Base of every table model: registers itself and counts its DynamoDB calls."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(getattr(cls, "Meta", None), "table_suffix", None):
            MODELS.append(cls)

    @classmethod
    def _get_connection(cls):
        connection = super()._get_connection()
        _client(connection.connection)
        return connection


def client_of(model: type[Model]):
    """The botocore client behind a model, counted like the model's own calls: for reads that skip
    building model objects (bulk counter rows) and for batch writes. The one place that reaches
    into PynamoDB's connection."""
    return _client(model._get_connection().connection)


def reconfigure() -> None:
    """Re-read connection settings into every model (tests point them at their own DynamoDB Local)."""
    global _shared_connection
    for model in MODELS:
        model.Meta.table_name = table_name(model.Meta.table_suffix)
        for key, value in _connection_options().items():
            setattr(model.Meta, key, value)
        model._connection = None
    _shared_connection = None


_shared_connection: Connection | None = None


def connection() -> Connection:
    """A plain connection for operations that span tables (transactions)."""
    global _shared_connection
    if _shared_connection is None:
        _shared_connection = Connection(**_connection_options())
    _client(_shared_connection)
    return _shared_connection


def transact_write() -> TransactWrite:
    """`with transact_write() as tx:` — all writes land together or none does."""
    return TransactWrite(connection=connection())
