"""The matcher a running service uses: the watch-list's templates of its embedder's model, under the rule in force."""

from __future__ import annotations

from dataclasses import dataclass

from facetrail.analytics.embedder import EmbeddingSpace
from facetrail.analytics.face_models import choose
from facetrail.analytics.matcher import Matcher, MatchingRule, matching_rule
from facetrail.config import Config, MatchingConfig
from facetrail.storage.watchlist_store import WatchlistStore
from facetrail.watchlist import OperatingPoint


@dataclass(frozen=True)
class LoadedMatcher:
    matcher: Matcher
    rule: MatchingRule
    version: str
    """The watch-list version the matcher was loaded at (sightings carry it)."""
    unmatchable: int
    """Live entries with no template of this model: nothing can match them until `facetrail watchlist reembed`."""

    def summary(self, space: EmbeddingSpace) -> str:
        missing = f"; {self.unmatchable} entr{'y' if self.unmatchable == 1 else 'ies'} without {space.model} templates " \
                  "(run `facetrail watchlist reembed`)" if self.unmatchable else ""
        return (f"watch-list: {len(self.matcher)} entr{'y' if len(self.matcher) == 1 else 'ies'} matchable by {space.model}, "
                f"threshold {self.rule.threshold:.3f}, ratio {self.rule.max_distance_ratio:.2f} ({self.rule.source}){missing}")


def load_matcher(watchlist: WatchlistStore, space: EmbeddingSpace, matching: MatchingConfig) -> LoadedMatcher:
    version = watchlist.version()
    rule = matching_rule(matching, space, watchlist.operating_point(space.model))
    matcher = Matcher.for_space(watchlist.enrolled_people(space.model), space, rule)
    return LoadedMatcher(matcher, rule, version, len(watchlist.without_templates(space.model)))


@dataclass(frozen=True)
class MatchingInForce:
    """What decides a match at this site now: the embedding model the config resolves to, the rule its matcher
    runs and, when `facetrail calibrate` set it, the operating point measured for that model."""

    model: str
    rule: MatchingRule
    operating_point: OperatingPoint | None


def matching_in_force(config: Config, watchlist: WatchlistStore) -> MatchingInForce:
    """Resolved from the config and the stored operating point alone: no model file is loaded."""
    space = choose(config.analysis, config.models).space
    point = watchlist.operating_point(space.model)
    return MatchingInForce(space.model, matching_rule(config.analysis.matching, space, point), point)
