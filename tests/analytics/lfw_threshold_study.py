"""Print FNIR/FPIR over a range of thresholds on LFW (see lfw.py for the protocol).

    .venv/bin/python -m tests.analytics.lfw_threshold_study [K ...]
"""

from __future__ import annotations

import sys
import time

from facetrail.analytics.detector import HogDetector, YuNetDetector
from facetrail.analytics.dlib_embedder import DlibEmbedder
from tests.analytics.lfw import LFW, EmbeddingCache, rates, score, split

YUNET = LFW.parents[1] / "models" / "face_detection_yunet_2023mar.onnx"


def main(sizes: list[int], backend: str) -> None:
    detector = YuNetDetector(YUNET, 0.8, 640, 40) if backend == "yunet" else HogDetector(640, 40)
    cache = EmbeddingCache(detector, DlibEmbedder())
    for k in sizes:
        started = time.time()
        scored = score(split(k), cache)
        print(f"\n{backend}: K={k} enrolled, {len(scored.mated)} mated / {len(scored.non_mated)} non-mated probes ({time.time() - started:.0f} s)")
        print("threshold   FNIR    FPIR")
        for t in [0.35, 0.40, 0.42, 0.45, 0.48, 0.50, 0.52, 0.55, 0.60]:
            r = rates(scored, t)
            print(f"  {t:.2f}    {r.fnir:6.3f}  {r.fpir:6.3f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    backend = args.pop(0) if args and args[0] in ("yunet", "hog") else "yunet"
    main([int(a) for a in args] or [50, 200, 500], backend)
