"""facetrail benchmarks: ``python -m bench`` (``make bench``) writes BENCHMARKS.md."""
