"""Ingest: camera streams and recorded files decoded into sampled, time-stamped frames."""
