"""Analytics stage: detect faces, track them within one camera, embed the best
shots and match them against the watch-list. Faces that match nobody leave
nothing behind but counters."""
