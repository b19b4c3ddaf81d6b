"""The `facetrail` command line: each command group is its own module, wired in main.py."""
