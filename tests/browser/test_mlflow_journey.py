"""A new installation pointed at an MLflow registry, as the README tells an administrator,
in a real Chromium against a real mlgov server process (runserver, as ``make run`` starts it;
tasks in process) and a real ``mlflow server`` filled through MLflow's own client.

The administrator adds the connection in the admin (the service user chosen in its search
box), presses **Sync now**, and reads the sync's counts; the registry's models appear as
discovered in the inventory, the version MLflow marks as champion without an approved
promotion has its incident, and a model owner claims a discovered model, stating its
purpose and business owner.

Skipped, saying why, without Chromium or without MLflow's virtualenv.
"""

from __future__ import annotations

import pytest

from tests import live_server
from tests.browser.chromium import sign_in
from tests.mlflow_sync.server import start_server
from tests.mlflow_sync.test_sync_with_mlflow import BASE_MS, POPULATE

ADMIN = "ada.admin"
ADMIN_PASSWORD = "correct-horse-battery-mlflow-7"
OWNER = "omar.owner"
OWNER_PASSWORD = "owner-password-for-mlflow-9"
SETUP = f"""
from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.core import roles
from apps.inventory.services import business_unit_create
admin = User.objects.get(username="{ADMIN}")
business_unit_create(actor=admin, code="discovered", name="Discovered in MLflow")
user_create(actor=admin, username="svc.mlflow", role_names=[roles.MODEL_OWNER])
user_create(
    actor=admin, username="{OWNER}", password="{OWNER_PASSWORD}", role_names=[roles.MODEL_OWNER]
)
user_create(
    actor=admin, username="bea.business", password="{OWNER_PASSWORD}",
    role_names=[roles.BUSINESS_OWNER], first_name="Bea", last_name="Business",
)
"""


@pytest.fixture(scope="module")
def mlflow_registry(tmp_path_factory):
    server, why = start_server(tmp_path_factory.mktemp("mlflow-journey"))
    if server is None:
        print(f"MLflow journey skipped: {why}")
        pytest.skip(why)
    try:
        made = server.client_script(POPULATE, steps=["initial"], base_ms=BASE_MS)
        server.client_script(
            POPULATE, steps=["change"], base_ms=BASE_MS, monitoring_run=made["monitoring_run"]
        )
        yield server
    finally:
        server.stop()


@pytest.mark.browser
def test_an_administrator_points_mlgov_at_mlflow_and_its_models_appear(
    mlflow_registry, chromium, tmp_path
):
    from playwright.sync_api import expect

    registry = mlflow_registry
    with live_server.site(
        tmp_path, "mlflowjourney", MLGOV_EGRESS_ALLOW=registry.allow_entry
    ) as site:
        site.manage("create_admin", ADMIN, extra_env={"MLGOV_ADMIN_PASSWORD": ADMIN_PASSWORD})
        site.manage("shell", "-c", SETUP)
        site.manage("collectstatic", "--noinput", "-v", "0")
        with live_server.server(site, "runserver", log=tmp_path / "runserver.log") as base:
            page = chromium.new_page()
            sign_in(page, base, ADMIN, ADMIN_PASSWORD)

            # The connection, in the admin (MLflow connections → Add), as the README says.
            page.goto(f"{base}/admin/mlflow_sync/mlflowconnection/add/")
            page.locator("#id_name").fill("Bank registry")
            page.locator("#id_tracking_url").fill(registry.url)
            page.locator("#id_model_patterns").fill("credit-*\nchurn-*")
            page.locator("#id_business_unit").select_option(label="Discovered in MLflow")
            page.locator(".field-run_as .select2-selection").click()
            page.locator(".select2-search__field").fill("svc")
            page.locator(".select2-results__option", has_text="svc.mlflow").click()
            page.locator("input[name=_save]").click()
            expect(page.locator(".messagelist")).to_contain_text("Bank registry")

            # Sync now, on the connection's own page; the run's page gives the counts.
            page.goto(f"{base}/mlflow/")
            page.get_by_role("link", name="Bank registry").click()
            page.get_by_role("button", name="Sync now").click()
            page.wait_for_url(f"{base}/mlflow/syncs/*/")
            for _ in range(30):  # done on commit, in process: at most a short wait
                if "Done" in page.locator("main").inner_text():
                    break
                page.wait_for_timeout(1000)
                page.reload()
            run_page = page.locator("main")
            expect(run_page).to_contain_text("Done")
            # credit-scorer (2 versions) and churn-model (1): 2 models and 3 versions, all
            # new; scratch-notebook is not one the connection takes.
            expect(page.locator("#count-seen")).to_have_text("5")
            expect(page.locator("#count-created")).to_have_text("5")

            # The inventory lists them as discovered, waiting to be claimed.
            page.goto(f"{base}/mlflow/discovered/")
            table = page.locator("main table")
            expect(table).to_contain_text("credit-scorer")
            expect(table).to_contain_text("churn-model")
            expect(table).not_to_contain_text("scratch-notebook")

            # churn-model v1 is MLflow's champion, never promoted in mlgov: an incident.
            page.goto(f"{base}/incidents/")
            expect(page.locator("main")).to_contain_text("is serving without an approved promotion")
            page.close()

            # A model owner claims credit-scorer: purpose and business owner.
            owner = chromium.new_page()
            sign_in(owner, base, OWNER, OWNER_PASSWORD)
            owner.goto(f"{base}/mlflow/discovered/")
            owner.locator("tr", has_text="credit-scorer").get_by_role("link", name="Claim").click()
            owner.get_by_label("Purpose / intended use").fill(
                "Scores retail credit applications for the lending desk."
            )
            owner.get_by_label("Business owner").select_option(label="Bea Business")
            owner.get_by_role("button", name="Claim the model").click()
            expect(owner.locator("main")).to_contain_text(
                "Scores retail credit applications for the lending desk."
            )
            owner.goto(f"{base}/mlflow/discovered/")
            table = owner.locator("main")
            expect(table).not_to_contain_text("credit-scorer")
            expect(table).to_contain_text("churn-model")
            owner.close()
