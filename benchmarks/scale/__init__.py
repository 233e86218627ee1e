"""The scale benchmark's parts (``benchmarks/scale_benchmark.py`` runs them)."""
