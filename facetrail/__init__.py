"""facetrail: accountable watch-list face sightings from CCTV, stitched into tracks."""

__version__ = "0.1.0"
