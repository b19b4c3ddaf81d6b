"""Switching the embedding model: `facetrail watchlist reembed` makes every entry's templates anew from its stored
photos, audited; an entry whose photos fail is reported, never silently dropped."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from facetrail.analytics.face_models import build_face_models
from facetrail.cli.main import cli
from facetrail.config import load_config
from tests.accountability.conftest import T0, walk

RETAIL = "face-reidentification-retail-0095-fp16"


def _configure(site, embedder: str, models_dir=None) -> None:
    extra = f"models: {{dir: '{models_dir}'}}\n" if models_dir else ""
    site.config_path.write_text(site.config_path.read_text().split("analysis:")[0] +
                                f"analysis: {{detector: {{backend: hog}}, embedder: {{backend: {embedder}}}}}\n" + extra)
    site.config = load_config(site.config_path)


def invoke(site, *args):
    return CliRunner().invoke(cli, [*args, "-c", str(site.config_path)])


@pytest.fixture
def enrolled_with_dlib(site, tmp_path, photo_path):
    import shutil

    folder = tmp_path / "people" / "Barack Obama"
    folder.mkdir(parents=True)
    shutil.copy(photo_path("obama.jpg"), folder / "obama.jpg")
    _configure(site, "dlib")
    result = invoke(site, "watchlist", "import", str(folder.parent), "--legal-basis", "case 9", "--image-source", "press")
    assert result.exit_code == 0, result.output
    return site.watchlist.records()[0]


def test_reembedding_makes_templates_of_the_new_model_that_match_the_person(site, enrolled_with_dlib, shared_dir,
                                                                             head_patch, detector):
    _configure(site, "openvino", shared_dir / "models")
    result = invoke(site, "watchlist", "reembed")
    assert result.exit_code == 0, result.output
    assert "re-embedded 1 of 1 entry with " + RETAIL in result.output
    counts = {c.model: c.templates for c in site.watchlist.template_counts()}
    assert counts == {"dlib-resnet-v1": 1, RETAIL: 1}
    record = site.audit.records()[-1]
    assert (record.action, record.subject, record.details["failed"]) == ("watchlist.reembed", RETAIL, 0)
    retail = build_face_models(site.config.analysis, site.config.models).embedder
    analysed = site.analyse(walk(head_patch("obama2.jpg"), T0), detector, retail)
    assert analysed.counters.matched_passes == 1


def test_an_entry_whose_stored_photo_is_gone_is_reported_and_keeps_its_other_templates(site, enrolled_with_dlib,
                                                                                       shared_dir):
    [key] = site.watchlist.photo_keys(enrolled_with_dlib.entry_id)
    site.objects.delete(key)
    _configure(site, "openvino", shared_dir / "models")
    result = invoke(site, "watchlist", "reembed")
    assert result.exit_code == 1
    assert f"not re-embedded Barack Obama ({enrolled_with_dlib.entry_id}): photo 1: missing" in result.output
    assert "1 failed" in result.output and "Traceback" not in result.output
    assert {c.model for c in site.watchlist.template_counts()} == {"dlib-resnet-v1"}
    assert [r.entry_id for r in site.watchlist.without_templates(RETAIL)] == [enrolled_with_dlib.entry_id]


def test_the_watchlist_listing_shows_how_many_templates_the_model_in_use_has(site, enrolled_with_dlib, shared_dir):
    _configure(site, "openvino", shared_dir / "models")
    before = invoke(site, "watchlist", "list").output
    assert f"matching: {RETAIL}" in before and " none " in before
    invoke(site, "watchlist", "reembed")
    assert " none " not in invoke(site, "watchlist", "list").output
