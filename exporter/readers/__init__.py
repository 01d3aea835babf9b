"""Readers: Printer-MIB, Host-Resources, identity and vendor tables -> the snapshot model."""
