"""Which decision rule separates mated from non-mated searches best, on identities never used to tune it.

    .venv/bin/python -m tests.analytics.lfw_open_set_study [dlib | face-reidentification-retail-0095-fp16 | ...-int8]

The argument names the embedding model (default dlib); distances are that model's own (Euclidean for dlib,
1 - cosine for retail-0095).

Protocol as bench/accuracy.py (section 6: the same seed, enrolment photos, probes and
leave-one-out non-mated searches at K=1000), plus: every identity of lfw-dev is put
in half A or half B (seeded, independently of the enrolment draw). A rule's thresholds
are chosen on the searches made by A's photos and FNIR/FPIR are measured on B's, then
the other way round; the table pools both held-out halves. The gallery is shared by
both halves (a watch-list is what it is); only the probes and their labels are split.
K=100 is also drawn with four more seeds (other enrolled identities) because one draw
gives only ~270 mated searches.

Rules score the nearest entry c (by distance d1; the reported distance stays d1);
lower is more confident, and a search is accepted when every score is within its
threshold:
  plain   d1
  ratio   d1 / d2, d2 = the nearest *other* entry
  margin  d1 - d2
  Z_k     (d1 - mu_c) / sigma_c: mean and std of c's distances to its k nearest
          other entries in the gallery (computable at list load)
  T_k     (d1 - mean) / std of the probe's distances to its next k entries (2..k+1)
  S_k     (Z_k + T_k) / 2 (symmetric, adaptive cohort)
  X       (d1 - mu_c) / sigma_c against a fixed cohort of 200 unenrolled identities'
          first photos (K=100 only; those identities are then never probes, for any rule)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.accuracy import MAX_PROBES, SEED
from facetrail.analytics.matcher import _per_person_min, metric_distance

FPIRS = (0.003, 0.01)
HALF_SEED = 7
EXTRA_K100_SEEDS = (1, 2, 3, 4)
COHORT_IDENTITIES = 200
METRIC = "euclidean"
DEFAULT_THRESHOLD = 0.48


@dataclass(frozen=True)
class Searches:
    """Per search: distance to every enrolled person, the true person (-1: non-mated) and the probe's identity."""

    dist: np.ndarray  # (n, K)
    truth: np.ndarray  # (n,)
    identity: np.ndarray  # (n,) identity names


@dataclass(frozen=True)
class Gallery:
    names: list[str]
    rows: np.ndarray  # (M, 128)
    owner: np.ndarray  # (M,)

    def person_distances(self) -> np.ndarray:
        """(K, K) smallest row-to-row distance between two people, inf on the diagonal."""
        by_row = metric_distance(_per_person_min(self.rows, self.rows, self.owner, len(self.names)), METRIC)
        out = np.full((len(self.names), len(self.names)), np.inf)
        np.minimum.at(out, self.owner, by_row)
        np.fill_diagonal(out, np.inf)
        return out


def build(vec, people, enrolled, unenrolled, enrol_photos, leave_one_out) -> tuple[Gallery, Searches]:
    rows, owner, kept = [], [], []
    for name in enrolled:
        vectors = [v for p in people[name][:enrol_photos] if (v := vec(p)) is not None]
        if vectors:
            rows += vectors
            owner += [len(kept)] * len(vectors)
            kept.append(name)
    gallery = Gallery(kept, np.array(rows, np.float64), np.array(owner))
    mated = [(i, p) for i, name in enumerate(kept) for p in people[name][enrol_photos : enrol_photos + MAX_PROBES]]
    non_mated = [(name, p) for name in unenrolled for p in people[name][:MAX_PROBES]]

    def distances(photos: list[str]) -> np.ndarray:
        found = [(j, v) for j, p in enumerate(photos) if (v := vec(p)) is not None]
        out = np.full((len(photos), len(kept)), np.inf)
        if found:
            out[[j for j, _ in found]] = metric_distance(_per_person_min(
                np.array([v for _, v in found], np.float64), gallery.rows, gallery.owner, len(kept)), METRIC)
        return out

    md = distances([p for _, p in mated])
    truth = np.array([i for i, _ in mated])
    nd = distances([p for _, p in non_mated])
    dist = [md, nd]
    truths = [truth, np.full(len(nd), -1)]
    ident = [np.array([kept[i] for i in truth]), np.array([n for n, _ in non_mated])]
    if leave_one_out:
        others = md.copy()
        others[np.arange(len(truth)), truth] = np.inf
        dist.append(others), truths.append(np.full(len(others), -1)), ident.append(ident[0])
    return gallery, Searches(np.concatenate(dist), np.concatenate(truths), np.concatenate(ident))


def cohort_stats(cohort_dist: np.ndarray, k: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over each person's k smallest cohort distances (all when k is None)."""
    ordered = np.sort(cohort_dist, axis=1)
    ordered = ordered[:, : (k or ordered.shape[1])]
    ordered = np.where(np.isfinite(ordered), ordered, np.nan)
    return np.nanmean(ordered, axis=1), np.maximum(np.nanstd(ordered, axis=1), 1e-6)


@dataclass(frozen=True)
class Scores:
    """Per search: nearest person, whether it is the true one, and each rule's score (lower = more confident)."""

    correct: np.ndarray
    mated: np.ndarray
    identity: np.ndarray
    score: dict[str, np.ndarray]


def scores(gallery: Gallery, s: Searches, external: np.ndarray | None) -> Scores:
    order = np.argsort(s.dist, axis=1)
    ranked = np.take_along_axis(s.dist, order, axis=1)
    nearest, d1, d2 = order[:, 0], ranked[:, 0], ranked[:, 1]
    found = np.isfinite(d1)
    out: dict[str, np.ndarray] = {"plain": d1, "ratio": d1 / d2, "margin": d1 - d2}
    internal = gallery.person_distances()
    for k in (5, 10, 32, None):
        mu, sd = cohort_stats(internal, k)
        out[f"Z_{k or 'all'}"] = (d1 - mu[nearest]) / sd[nearest]
    for k, z in ((5, "Z_5"), (10, "Z_10"), (31, "Z_32")):
        rest = ranked[:, 1 : 1 + k]
        out[f"T_{k}"] = (d1 - rest.mean(axis=1)) / np.maximum(rest.std(axis=1), 1e-6)
        out[f"S_{k}"] = (out[z] + out[f"T_{k}"]) / 2
    if external is not None:
        mu, sd = cohort_stats(external, None)
        out["X_all"] = (d1 - mu[nearest]) / sd[nearest]
        mu, sd = cohort_stats(external, 10)
        out["X_10"] = (d1 - mu[nearest]) / sd[nearest]
    out = {name: np.where(found, v, np.inf) for name, v in out.items()}
    return Scores(nearest == s.truth, s.truth >= 0, s.identity, out)


@dataclass(frozen=True)
class Rule:
    """Accept when score[first] <= t1 and (second absent or score[second] <= t2)."""

    first: str
    second: str | None = None

    @property
    def name(self) -> str:
        return self.first if self.second is None else f"{self.first} & {self.second}"


def _threshold(values: np.ndarray, fpir: float) -> float:
    """Largest threshold letting through at most `fpir` of the values (non-mated scores)."""
    ordered = np.sort(values[np.isfinite(values)])
    allowed = int(np.floor(fpir * len(values)))
    if allowed >= len(ordered):
        return float("inf")
    return float(np.nextafter(ordered[allowed], -np.inf))


def _fit(sc: Scores, rule: Rule, fpir: float, tune: np.ndarray) -> tuple[float, float]:
    """Thresholds (t1, t2) minimising FNIR on the tuning searches with FPIR <= fpir there."""
    nm, m = tune & ~sc.mated, tune & sc.mated
    first = sc.score[rule.first]
    if rule.second is None:
        return _threshold(first[nm], fpir), np.inf
    second = sc.score[rule.second]
    candidates = np.unique(np.quantile(second[m & np.isfinite(second)], np.linspace(0.5, 1.0, 41)))
    best = (2.0, np.inf, np.inf)
    for t2 in list(candidates) + [np.inf]:
        # the first threshold may only let through fpir of *all* tuning non-mated searches
        passed = nm & (second <= t2)
        allowed = int(np.floor(fpir * nm.sum()))
        ordered = np.sort(first[passed][np.isfinite(first[passed])])
        t1 = np.inf if allowed >= len(ordered) else float(np.nextafter(ordered[allowed], -np.inf))
        fnir = 1 - np.mean(sc.correct[m] & (first[m] <= t1) & (second[m] <= t2))
        if fnir < best[0]:
            best = (fnir, t1, t2)
    return best[1], best[2]


def _accepted(sc: Scores, rule: Rule, t1: float, t2: float) -> np.ndarray:
    ok = sc.score[rule.first] <= t1
    return ok if rule.second is None else ok & (sc.score[rule.second] <= t2)


@dataclass(frozen=True)
class HeldOut:
    misses: int
    mated: int
    false: int
    non_mated: int
    thresholds: list[tuple[float, float]]

    def __add__(self, other: "HeldOut") -> "HeldOut":
        return HeldOut(self.misses + other.misses, self.mated + other.mated, self.false + other.false,
                       self.non_mated + other.non_mated, self.thresholds + other.thresholds)

    @property
    def fnir(self) -> float:
        return self.misses / self.mated

    @property
    def fpir(self) -> float:
        return self.false / self.non_mated


def held_out(sc: Scores, rule: Rule, fpir: float, in_a: Callable[[str], bool]) -> HeldOut:
    a = np.array([in_a(n) for n in sc.identity])
    total = HeldOut(0, 0, 0, 0, [])
    for tune, test in ((a, ~a), (~a, a)):
        t1, t2 = _fit(sc, rule, fpir, tune)
        ok = _accepted(sc, rule, t1, t2)
        m, nm = test & sc.mated, test & ~sc.mated
        total += HeldOut(int((~(ok & sc.correct))[m].sum()), int(m.sum()), int(ok[nm].sum()), int(nm.sum()), [(t1, t2)])
    return total


RULES = [Rule("plain"), Rule("ratio"), Rule("plain", "ratio"), Rule("plain", "margin"),
         *[Rule(f"Z_{k}") for k in (5, 10, 32, "all")], *[Rule("plain", f"Z_{k}") for k in (10, 32, "all")],
         *[Rule(f"T_{k}") for k in (5, 10, 31)], Rule("plain", "T_10"),
         *[Rule(f"S_{k}") for k in (5, 10, 31)], Rule("plain", "S_10"), Rule("Z_10", "ratio"), Rule("Z_32", "ratio"),
         Rule("Z_10", "margin"), Rule("S_10", "ratio"), Rule("X_all"), Rule("X_10"), Rule("plain", "X_all")]


def report(title: str, runs: list[Scores], in_a: Callable[[str], bool]) -> None:
    print(f"\n## {title}")
    print("| rule | " + " | ".join(f"FNIR @ FPIR {f:.1%} (held-out FPIR) | thresholds" for f in FPIRS) + " |")
    print("|---|" + "---|---|" * len(FPIRS))
    for rule in RULES:
        if any(n not in runs[0].score for n in (rule.first, rule.second) if n):
            continue
        cells = []
        for fpir in FPIRS:
            total = HeldOut(0, 0, 0, 0, [])
            for sc in runs:
                total += held_out(sc, rule, fpir, in_a)
            shown = total.thresholds[:2]
            cells.append(f"{total.fnir:.3f} ({total.fpir:.2%}) | " + ", ".join(_fmt(t) for t in shown))
        print(f"| {rule.name} | " + " | ".join(cells) + " |", flush=True)
    default_point(runs, in_a)
    sc = runs[0]
    print(f"({len(runs)} draw(s); per draw {int(sc.mated.sum())} mated / {int((~sc.mated).sum())} non-mated searches)")


def default_point(runs: list[Scores], in_a: Callable[[str], bool]) -> None:
    """FNIR / FPIR at the default distance threshold, with and without a ratio test, on each half (nothing tuned)."""
    for ratio in (1.0, 0.9, 0.85, 0.8):
        cells = []
        for half in ("A", "B"):
            misses = mated = false = non = 0
            for sc in runs:
                mine = np.array([in_a(n) == (half == "A") for n in sc.identity])
                ok = (sc.score["plain"] <= DEFAULT_THRESHOLD) & (sc.score["ratio"] <= ratio)
                misses += int((~(ok & sc.correct))[mine & sc.mated].sum())
                mated += int((mine & sc.mated).sum())
                false += int(ok[mine & ~sc.mated].sum())
                non += int((mine & ~sc.mated).sum())
            cells.append(f"half {half}: FNIR {misses / mated:.3f}, FPIR {false / non:.2%}")
        print(f"- d1 <= {DEFAULT_THRESHOLD} and d1/d2 <= {ratio}: " + "; ".join(cells))


def _fmt(t: tuple[float, float]) -> str:
    return f"{t[0]:.3f}" if not np.isfinite(t[1]) else f"{t[0]:.3f}/{t[1]:.3f}"


def main(model: str = "dlib") -> None:
    global METRIC, DEFAULT_THRESHOLD
    from bench.faces import lfw_cache
    from tests.analytics.lfw import identities

    people = identities()
    ours = lfw_cache(None if model == "dlib" else model)
    METRIC, DEFAULT_THRESHOLD = ours.embedder.space.metric, ours.embedder.space.threshold
    halves = sorted(people)
    random.Random(HALF_SEED).shuffle(halves)
    half_a = set(halves[: len(halves) // 2])

    def shuffled(seed: int) -> list[str]:
        names = sorted(people)
        random.Random(seed).shuffle(names)
        return names

    for k in (100, 1000):
        runs = []
        for seed in (SEED, *EXTRA_K100_SEEDS) if k == 100 else (SEED,):
            names = shuffled(seed)
            enrolled, unenrolled = names[:k], names[k:]
            external = None
            if k == 100:  # a fixed cohort: first photos of identities that are then never probes
                cohort_names, unenrolled = unenrolled[:COHORT_IDENTITIES], unenrolled[COHORT_IDENTITIES:]
                cohort = np.array([v for n in cohort_names if (v := ours.embedding(people[n][0])) is not None], np.float64)
            gallery, searches = build(ours.embedding, people, enrolled, unenrolled, 1, len(unenrolled) < k)
            if k == 100:
                by_row = metric_distance(_per_person_min(cohort, gallery.rows, gallery.owner, len(gallery.names)), METRIC)
                external = by_row.T
            runs.append(scores(gallery, searches, external))
        report(f"K={k}, one enrolment photo", runs, half_a.__contains__)
        if k == 100:
            runs2, runs1 = [], []
            for seed in (SEED, *EXTRA_K100_SEEDS):
                names = shuffled(seed)
                rich = [n for n in names if len(people[n]) >= 3][:k]
                others = [n for n in names if n not in set(rich)]
                g, s = build(ours.embedding, people, rich, others, 2, False)
                runs2.append(scores(g, s, None))
                skip_second = {n: people[n][:1] + people[n][2:] if n in rich else people[n] for n in people}
                g, s = build(ours.embedding, skip_second, rich, others, 1, False)
                runs1.append(scores(g, s, None))
            report("K=100 identities with >= 3 photos, one enrolment photo (same probes as below)", runs1, half_a.__contains__)
            report("K=100 identities with >= 3 photos, two enrolment photos", runs2, half_a.__contains__)
    ours.save()


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:2])
