"""python -m bench [--quick] [--only NAME ...]: run the benchmarks and write BENCHMARKS.md."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from pathlib import Path

from bench.faces import MissingData
from bench.report import CACHE, ROOT, Machine, Section, Timer, load_all, render, save

SECTIONS = {
    "density": "1. Camera density (live RTSP streams per machine)",
    "latency": "2. Alert latency",
    "reprocess": "3. Reprocessing speed",
    "matching": "4. 1:N matching on large watch-lists",
    "trajectory": "5. Trajectory throughput",
    "accuracy": "6. Accuracy on lfw-dev photos (open-set identification), both models",
    "passes": "7. Video passes: per-pass accuracy of three pass policies, both models",
    "uploads": "8. API memory under maximal enrolment uploads",
    "archive": "9. Archive search throughput (camera-hours per hour)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes and short windows, for smoke tests")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS), help="run only this section (repeatable)")
    parser.add_argument("--condition", action="append", metavar="NAME",
                        help="passes: run only this condition (repeatable: 40px 60px 100px h264 blur dim compound)")
    parser.add_argument("--model", action="append", metavar="NAME",
                        help="passes: run only this embedding model (repeatable: retail dlib)")
    parser.add_argument("--out", type=Path, help="report path (default BENCHMARKS.md, or .cache/bench/BENCHMARKS-quick.md with --quick)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.condition or args.model:
        from bench import passes

        try:
            passes.select(args.condition, args.model)
        except ValueError as exc:
            parser.error(str(exc))
    out = args.out or (CACHE / "BENCHMARKS-quick.md" if args.quick else ROOT / "BENCHMARKS.md")
    failed = False
    for name in args.only or list(SECTIONS):
        section = Section(name, SECTIONS[name], quick=args.quick)
        print(f"[bench] {name} ...", flush=True)
        try:
            with Timer(section):
                importlib.import_module(f"bench.{name}").run(section, args.quick)
        except MissingData as exc:
            section.note(f"Not measured: {exc}")
        except Exception as exc:  # one broken section must not lose the others' figures
            failed = True
            section.note(f"Failed: {exc.__class__.__name__}: {exc}")
            traceback.print_exc()
        save(section)
        for figure in section.figures:
            print(f"[bench]   {figure.label}: {figure.value} {figure.unit}", flush=True)
    command = "python -m bench" + (" --quick" if args.quick else "")
    out.parent.mkdir(parents=True, exist_ok=True)
    earlier = out.read_text() if out.is_file() else ""
    out.write_text(render(load_all(args.quick, list(SECTIONS)), Machine.here(), command, list(SECTIONS.values()), earlier))
    print(f"[bench] wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
