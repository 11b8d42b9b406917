import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
application = get_wsgi_application()

# ALERTS_IN_PROCESS=true (`make run`): evaluate alert rules in a thread of the serving process.
from dashboard.alerts.scheduler import start_in_process  # noqa: E402 — needs Django set up

start_in_process()
