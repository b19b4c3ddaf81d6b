"""Trajectory: stitch one person's sightings across cameras into movement tracks."""
