"""BENCHMARKS.md keeps what a run did not measure."""

from bench.report import Figure, Machine, Section, render

TITLES = ["1. Camera density", "5. Trajectory throughput"]
MACHINE = Machine(cores=2, cpu_model="test CPU", memory_gib=1.0, python="3.11")


def _section(title: str, value: float) -> Section:
    section = Section(title.split(".")[0], title)
    section.add(Figure("stitch core", value, "sightings/s"))
    return section


def test_a_section_not_run_this_time_keeps_its_block_from_the_earlier_report():
    earlier = render([_section(TITLES[0], 4), _section(TITLES[1], 1000)], MACHINE, "python -m bench", TITLES)
    report = render([_section(TITLES[1], 2000)], MACHINE, "python -m bench", TITLES, earlier)
    density = earlier[earlier.index("## 1."):earlier.index("## 5.")].rstrip()
    assert density in report and report.index("## 1.") < report.index("## 5.")
    assert "| stitch core | 2,000 sightings/s |" in report and "1,000 sightings/s" not in report


def test_a_section_run_this_time_replaces_its_earlier_block():
    earlier = render([_section(TITLES[1], 1000)], MACHINE, "python -m bench", TITLES)
    report = render([_section(TITLES[1], 2000)], MACHINE, "python -m bench", TITLES, earlier)
    assert report.count("## 5.") == 1 and "1,000 sightings/s" not in report
