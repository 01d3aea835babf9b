"""printer-archive: the reference central archive."""
