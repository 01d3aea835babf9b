"""printer-exporter: a Prometheus exporter and data collector agent for printers."""

__version__ = "0.1.0"
