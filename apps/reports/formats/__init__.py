"""Data formats of the reports, each rendered from one document.

The model card's (mlgov JSON, Model Card Toolkit JSON, Markdown) take the snapshot dict of
``apps.reports.snapshot`` and the generation metadata dict; the lineage report's (OpenLineage
run events and the JSON export, SVG diagrams, HTML and PDF) take the document of
``apps.reports.lineage``. Every function here returns a document, bytes or text without touching
the database.
"""
