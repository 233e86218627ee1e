"""Browser routes of ingestion (included by apps/monitoring/urls.py)."""

urlpatterns: list = []
