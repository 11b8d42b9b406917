import pytest

from dashboard.dynamo import base

LOCAL_KEYS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
AWS_CHAIN = {"aws_access_key_id": None, "aws_secret_access_key": None}


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:8766", "http://localhost:8000", "http://[::1]:8766", "http://localhost"]
)
def test_dynamodb_local_on_this_machine_gets_the_fixed_local_keys(settings, endpoint):
    settings.DYNAMODB_ENDPOINT_URL = endpoint
    assert base._credentials() == LOCAL_KEYS


@pytest.mark.parametrize(
    "endpoint",
    [
        None,
        "https://dynamodb-fips.us-east-2.amazonaws.com",
        "https://vpce-0abc-123.dynamodb.us-east-2.vpce.amazonaws.com",
        "http://scylla.internal:8000",
        "http://127.0.0.1.example.com:8000",  # looks local, is not
    ],
)
def test_any_other_endpoint_uses_the_normal_aws_credential_chain(settings, endpoint):
    settings.DYNAMODB_ENDPOINT_URL = endpoint
    assert base._credentials() == AWS_CHAIN
