"""Benchmark results as typed values, saved per section and rendered to BENCHMARKS.md.

Each section's result is saved on its own (``.cache/bench/results``), so
``--only NAME`` re-runs one section and the report still shows all of them.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"


@dataclass
class Figure:
    """One measured figure, with the same run's baseline and the target when there are ones."""

    label: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    met: bool | None = None
    higher_is_better: bool = True

    def __post_init__(self) -> None:  # numpy scalars in, plain JSON-able values kept
        self.value = None if self.value is None else float(self.value)
        self.baseline = None if self.baseline is None else float(self.baseline)
        self.met = None if self.met is None else bool(self.met)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline or (not self.higher_is_better and not self.value):
            return None
        return self.value / self.baseline if self.higher_is_better else self.baseline / self.value


@dataclass
class Table:
    """A small table of figures that read best side by side (models as columns, stages as rows)."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    """Cells already formatted, one list per row, as many as columns."""


@dataclass
class Section:
    name: str
    title: str
    started_at: str = ""
    seconds: float = 0.0
    load_start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was measured how, and what limits a missed target (with profile evidence)."""
    quick: bool = False
    machine: str = ""
    """Where the section ran (cores and CPU): sections kept from earlier runs may come from another host."""

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)

    def table(self, table: Table) -> Table:
        self.tables.append(table)
        return table


@dataclass(frozen=True)
class Machine:
    cores: int
    cpu_model: str
    memory_gib: float
    python: str

    @classmethod
    def here(cls) -> "Machine":
        model = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        return cls(os.cpu_count() or 1, model, round(memory, 1), platform.python_version())


class Timer:
    """Stamps a section's wall time and the machine's load average at its start and end."""

    def __init__(self, section: Section):
        self.section = section

    def __enter__(self) -> Section:
        self.section.started_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        self.section.load_start = os.getloadavg()
        here = Machine.here()
        self.section.machine = f"{here.cores} cores, {here.cpu_model}"
        self._t0 = time.monotonic()
        return self.section

    def __exit__(self, *exc) -> None:
        self.section.seconds = round(time.monotonic() - self._t0, 1)
        self.section.load_end = os.getloadavg()


def results_dir(quick: bool) -> Path:
    return CACHE / ("results-quick" if quick else "results")


def save(section: Section) -> Path:
    folder = results_dir(section.quick)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{section.name}.json"
    path.write_text(json.dumps(asdict(section), indent=1))
    return path


def load_all(quick: bool, order: list[str]) -> list[Section]:
    sections = []
    for name in order:
        path = results_dir(quick) / f"{name}.json"
        if path.is_file():
            raw = json.loads(path.read_text())
            raw["figures"] = [Figure(**f) for f in raw["figures"]]
            raw["tables"] = [Table(**t) for t in raw.get("tables", [])]
            raw["load_start"], raw["load_end"] = tuple(raw["load_start"]), tuple(raw["load_end"])
            sections.append(Section(**raw))
    return sections


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _met(met: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: ""}[met]


def earlier_sections(report: str) -> dict[str, str]:
    """The sections of an earlier BENCHMARKS.md by title, each block as it was written (heading included)."""
    blocks = re.split(r"(?m)^(?=## )", report)[1:]
    return {block.split("\n", 1)[0][3:].strip(): block.rstrip() + "\n" for block in blocks}


def render(sections: list[Section], machine: Machine, command: str, titles: Sequence[str] = (),
           earlier: str = "") -> str:
    """The report: ``sections`` in the order of ``titles``; a title with no section this time keeps its block
    from the ``earlier`` report, so a run of some sections on a fresh clone (no cached results) does not
    drop the others' figures."""
    lines = [
        "# facetrail benchmarks",
        "",
        "Generated by `python -m bench` (`make bench`); do not edit by hand — re-run instead.",
        "",
        f"- Machine: {machine.cores} cores, {machine.cpu_model}, {machine.memory_gib} GiB memory, Python {machine.python}",
        f"- Written: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Command: `{command}`",
        "- The machine is shared: the load average (1/5/15 min) at each section's start and end says how busy it was.",
        "- A section kept from an earlier run says on its Run line where it ran; compare figures across hosts by their "
        "baselines (same run), not as absolute values.",
        "",
    ]
    ran = {s.title: s for s in sections}
    kept = earlier_sections(earlier)
    for title in titles or list(ran):
        if title not in ran:
            if title in kept:
                lines += [*kept[title].splitlines(), ""]
            continue
        s = ran[title]
        load = lambda l: "/".join(f"{v:.2f}" for v in l)  # noqa: E731
        lines += [
            f"## {s.title}",
            "",
            f"Run {s.started_at}{f' on {s.machine}' if s.machine else ''}, {s.seconds:.0f} s"
            f"{' (quick sizes)' if s.quick else ''}; "
            f"load average {load(s.load_start)} at start, {load(s.load_end)} at end.",
            "",
            "| figure | value | baseline (same run) | ratio | target | |",
            "|---|---|---|---|---|---|",
        ]
        for f in s.figures:
            base = f"{fmt(f.baseline)} {f.unit} ({f.baseline_label})" if f.baseline is not None else "—"
            ratio = f"{f.ratio:.1f}x" if f.ratio is not None else "—"
            lines.append(f"| {f.label} | {fmt(f.value)} {f.unit} | {base} | {ratio} | {f.target} | {_met(f.met)} |")
        lines.append("")
        for table in s.tables:
            lines += [f"**{table.title}**", "", "| " + " | ".join(table.columns) + " |",
                      "|" + "---|" * len(table.columns)]
            lines += ["| " + " | ".join(row) + " |" for row in table.rows]
            lines.append("")
        lines += [f"- {n}" for n in s.notes]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
