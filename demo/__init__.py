"""Tools to run printer-exporter against simulated printers, never against real networks."""
