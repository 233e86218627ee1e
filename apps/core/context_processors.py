"""Template context shared by every page."""

from django.conf import settings


def mlgov(request):
    return {"MLGOV_VERSION": settings.MLGOV_VERSION}
