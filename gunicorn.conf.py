"""gunicorn settings for `make serve` and production, read from the environment.

Requests mostly wait on DynamoDB (network I/O), so a few processes with several threads each use
a small machine well: GUNICORN_WORKERS (default: 2 per CPU + 1) × GUNICORN_THREADS (default 4).
"""

import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

wsgi_app = "dashboard.wsgi:application"
bind = os.getenv("GUNICORN_BIND", f"{os.getenv('HOST', '127.0.0.1')}:{os.getenv('PORT', '8000')}")
workers = int(os.getenv("GUNICORN_WORKERS", str(multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.getenv("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.getenv("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.getenv("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Load balancers keep connections open between requests; outlive their idle timeout (ALB: 60 s).
keepalive = int(os.getenv("GUNICORN_KEEPALIVE", "75"))
# The dashboard logs one line per request itself (dashboard.core.request_log); gunicorn's access
# log would repeat it without the request id or the DynamoDB figures.
accesslog = None
errorlog = "-"
loglevel = os.getenv("GUNICORN_LOG_LEVEL", "info")
# Restart workers now and then so a slow leak never grows unbounded.
max_requests = int(os.getenv("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.getenv("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# The load balancer terminates TLS and sets X-Forwarded-Proto (Django's SECURE_PROXY_SSL_HEADER);
# trust forwarded headers from it (FORWARDED_ALLOW_IPS: its addresses, or * inside a private VPC).
forwarded_allow_ips = os.getenv("FORWARDED_ALLOW_IPS", "127.0.0.1")

# /metrics in prometheus-client's multiprocess mode: every worker (and the run_alerts loop) writes its
# values to files in one directory, a scrape sums them. Set here, in the master, before any worker
# imports prometheus_client. The directory is emptied at start (values of a previous run would be
# summed in) and a dead worker's live gauges are dropped by `child_exit`.
_own_metrics_dir = not os.getenv("PROMETHEUS_MULTIPROC_DIR")
metrics_dir = os.getenv("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="dashboard-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir


def on_starting(server):
    for entry in Path(metrics_dir).glob("*.db"):
        entry.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_dir)


# Alert rules (ALERTS_IN_PROCESS=true, which `make serve` sets): one `run_alerts --loop` process
# beside the workers, started by the master when it is ready and stopped when it exits; the workers
# themselves start no loop (one thread per worker would evaluate every rule once per worker).
alerts_loop = os.getenv("ALERTS_IN_PROCESS", "false").lower() in ("1", "true", "yes", "on")
if alerts_loop:
    os.environ["ALERTS_IN_PROCESS"] = "false"  # read by the workers' settings after the fork


def when_ready(server):
    if alerts_loop:
        interval = os.getenv("ALERTS_INTERVAL_SECONDS", "60")
        server.alerts_process = subprocess.Popen(
            [sys.executable, "manage.py", "run_alerts", "--loop", "--interval", interval],
            cwd=Path(__file__).resolve().parent,
        )
        server.log.info(
            "alert rules: run_alerts --loop every %s s (pid %s)", interval, server.alerts_process.pid
        )


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    process = getattr(server, "alerts_process", None)
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
