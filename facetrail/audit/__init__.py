"""The append-only, hash-chained audit log of who did what and when."""
