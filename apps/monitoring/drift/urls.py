"""Browser routes of drift (included by apps/monitoring/urls.py)."""

urlpatterns: list = []
