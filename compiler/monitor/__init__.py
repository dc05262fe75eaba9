"""`modelctl monitor`: live serving metrics from /metrics plus statistics and drift of collected data."""
