"""The HTTP API and dashboard (FastAPI): watch-list, tracks, sightings, evidence, cameras, live alerts."""
