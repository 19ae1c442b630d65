"""repro: a reproducible replication pipeline for papers on training dynamics."""

__version__ = "0.1.0"
