"""Browser routes of evaluation (included by apps/monitoring/urls.py)."""

urlpatterns: list = []
