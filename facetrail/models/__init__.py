"""Model files: the pinned catalogue, where they are found on this machine, and fetching them from their publishers."""
