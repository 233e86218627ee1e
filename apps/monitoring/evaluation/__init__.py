"""Threshold evaluation: after each batch, the active thresholds of every affected series are
evaluated set-based in SQL; state changes open incidents, notify, or record recoveries."""
