"""Data drift between a reference and a current sample, with the defaults of Evidently's
data-drift preset (stats.py is pure numpy/scipy), run as a Celery job."""
