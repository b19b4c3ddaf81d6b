"""Which detector and embedder a config gets: the strong models when their files are found, else dlib's, saying so."""

import pytest

from facetrail.analytics.detector import DetectorError
from facetrail.analytics.embedder import EmbedderError
from facetrail.analytics.face_models import choose
from facetrail.config import AnalysisConfig, DetectorConfig, EmbedderConfig, ModelsConfig


@pytest.fixture
def nowhere(tmp_path, monkeypatch) -> ModelsConfig:
    monkeypatch.delenv("FACETRAIL_MODEL_DIR", raising=False)
    return ModelsConfig(dir=tmp_path / "empty", cache=tmp_path / "cache")


def test_the_default_config_takes_yunet_and_retail_0095_when_they_are_found(shared_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("FACETRAIL_MODEL_DIR", raising=False)
    choice = choose(AnalysisConfig(), ModelsConfig(dir=shared_dir / "models", cache=tmp_path))
    assert choice.yunet is not None and choice.embedder.spec.name == "face-reidentification-retail-0095-fp16"
    assert choice.notes == () and choice.space.dim == 256


def test_the_models_found_through_the_environment_folder_are_used(shared_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FACETRAIL_MODEL_DIR", str(shared_dir / "models"))
    choice = choose(AnalysisConfig(), ModelsConfig(cache=tmp_path))
    assert choice.embedder is not None and choice.embedder.where == "FACETRAIL_MODEL_DIR"


def test_without_the_strong_models_the_default_falls_back_to_dlib_and_says_how_to_fetch_them(nowhere):
    choice = choose(AnalysisConfig(), nowhere)
    assert choice.yunet is None and choice.embedder is None
    assert choice.space.model == "dlib-resnet-v1"
    assert len(choice.notes) == 1 and "facetrail models fetch" in choice.notes[0]


def test_asking_for_openvino_without_its_model_is_an_error_naming_the_fetch(nowhere):
    with pytest.raises(EmbedderError, match="facetrail models fetch"):
        choose(AnalysisConfig(embedder=EmbedderConfig(backend="openvino")), nowhere)


def test_asking_for_yunet_without_its_model_is_an_error_naming_the_fetch(nowhere):
    with pytest.raises(DetectorError, match="facetrail models fetch"):
        choose(AnalysisConfig(detector=DetectorConfig(backend="yunet")), nowhere)


def test_a_configured_model_path_whose_files_differ_from_the_pins_is_refused(nowhere, tmp_path):
    (tmp_path / "face.xml").write_text("<net/>")
    (tmp_path / "face.bin").write_bytes(b"0" * 10)
    config = AnalysisConfig(embedder=EmbedderConfig(model_path=tmp_path / "face.xml"))
    with pytest.raises(EmbedderError, match="model_path"):
        choose(config, nowhere)


def test_dlib_can_be_chosen_even_where_the_strong_models_are_found(shared_dir, tmp_path):
    config = AnalysisConfig(detector=DetectorConfig(backend="hog"), embedder=EmbedderConfig(backend="dlib"))
    choice = choose(config, ModelsConfig(dir=shared_dir / "models", cache=tmp_path))
    assert choice.yunet is None and choice.embedder is None and choice.notes == ()
