"""Reference data shipped with spikemem (see ``ca3/README.md`` for provenance)."""
