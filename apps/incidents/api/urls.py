"""Incident API routes (mounted under /api/v1/ in the ``api`` namespace)."""

urlpatterns: list = []
