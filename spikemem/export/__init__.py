"""Exporters: a description written out for another tool (e.g. a standalone PyNN script)."""
