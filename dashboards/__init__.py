"""Grafana dashboards: the JSON files are what Grafana loads, the modules here build them
(`python -m dashboards.generate`; docs/dashboards.md)."""
