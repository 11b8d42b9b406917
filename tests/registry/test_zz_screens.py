import random

import pytest

from dashboard.accounts.models import Tenant
from dashboard.dynamo import clock
from dashboard.dynamo.seeding import SeedContext
from dashboard.registry import seed
from tests.registry.conftest import make_project

pytestmark = pytest.mark.browser


def test_screens(page_as, people):
    ctx = SeedContext(rng=random.Random(7), now=clock.now(), options={"models": 8}, quiet=True)
    ctx.tenants = [Tenant.get("acme")]
    ctx.admins = {"acme": [people["admin of acme"]]}
    ctx.staff = [people["staff"]]
    ctx.projects = {"acme": [make_project("acme", n) for n in ("Customer support", "Fraud review", "Search")]}
    seed.seed(ctx)
    page = page_as(people["admin of acme"])
    page.goto("/models/")
    page.screenshot(path="/tmp/reg_list.png", full_page=True)
    page.goto("/models/mdl_acme_1/")
    page.wait_for_timeout(500)
    page.screenshot(path="/tmp/reg_detail.png", full_page=True)
    page.goto("/models/register/")
    page.screenshot(path="/tmp/reg_register.png", full_page=True)
