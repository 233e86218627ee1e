"""Data formats of the model card: mlgov JSON, Model Card Toolkit JSON and Markdown.

Every function here is pure: it takes the snapshot dict of ``apps.reports.snapshot`` and the
generation metadata dict, and returns a document, bytes or text, without touching the database.
"""
