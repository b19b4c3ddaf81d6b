"""The detector and embedder a config asks for, with their model files found through the catalogue.

``auto`` (the default) takes the strong models, YuNet and face-reidentification-retail-0095,
when their files are found (``models.dir``, ``FACETRAIL_MODEL_DIR``, the cache) and falls
back to dlib's HOG and ResNet, which always install, saying in one line how to get them.
Choosing only looks for files (cheap: a parent process can say what its workers will load);
building loads the models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facetrail.analytics.detector import DetectorError, FaceDetector, HogDetector, YuNetDetector
from facetrail.analytics.dlib_embedder import DLIB_SPACE, DlibEmbedder
from facetrail.analytics.embedder import EmbedderError, EmbeddingSpace, FaceEmbedder
from facetrail.analytics.openvino_embedder import OpenVinoEmbedder, retail_0095_space
from facetrail.config import AnalysisConfig, DetectorConfig, EmbedderConfig, ModelsConfig
from facetrail.models.catalogue import YUNET, spec
from facetrail.models.locate import ENV_DIR, FoundModel, ModelLocator

_FETCH_HINT = f"`facetrail models fetch` downloads it, or set {ENV_DIR} to a folder holding it"


def _openvino_installed() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Choice:
    """What a config resolves to on this machine, before anything is loaded."""

    yunet: Path | None
    """The YuNet model file; None: dlib's HOG."""
    embedder: FoundModel | None
    """The OpenVINO model's files; None: dlib's ResNet."""
    notes: tuple[str, ...] = ()
    """One line per fallback taken, saying how to get the stronger model."""

    @property
    def space(self) -> EmbeddingSpace:
        """The embedding space the chosen embedder will produce (known without loading it)."""
        return DLIB_SPACE if self.embedder is None else retail_0095_space(self.embedder.spec.name)

    def describe(self) -> str:
        detector = f"YuNet ({self.yunet})" if self.yunet else "dlib HOG"
        embedder = f"{self.embedder.spec.name} ({self.embedder.where})" if self.embedder else "dlib ResNet"
        return f"detector {detector}, embedder {embedder}"


def _choose_detector(config: DetectorConfig, found_by: ModelLocator) -> tuple[Path | None, str | None]:
    if config.backend == "hog":
        return None, None
    if config.yunet_model is not None:
        return config.yunet_model, None
    found = found_by.find(YUNET)
    if found is not None:
        return found.paths[0], None
    if config.backend == "yunet":
        raise DetectorError(f"the YuNet model ({YUNET.name}) is not found; {_FETCH_HINT}")
    return None, f"detector: dlib HOG, because the YuNet model ({YUNET.name}) is not found; {_FETCH_HINT}"


def _choose_embedder(config: EmbedderConfig, found_by: ModelLocator) -> tuple[FoundModel | None, str | None]:
    if config.backend == "dlib":
        return None, None
    model = spec(config.model)
    if config.model_path is not None:
        found = found_by.configured(model, config.model_path)
        if found is None:
            raise EmbedderError(f"analysis.embedder.model_path {config.model_path}: not the {model.name} files the "
                                "catalogue pins (missing, or another checksum); `facetrail models verify` checks them")
    else:
        found = found_by.find(model)
    problem = None if found is not None else f"the {model.name} model is not found; {_FETCH_HINT}"
    if problem is None and not _openvino_installed():
        problem = "the openvino package is not installed (pip install openvino)"
    if problem is None:
        return found, None
    if config.backend == "openvino":
        raise EmbedderError(problem)
    return None, f"embedder: dlib ResNet, because {problem}"


def locator(models: ModelsConfig) -> ModelLocator:
    return ModelLocator.create(models.dir, models.cache)


def choose(analysis: AnalysisConfig, models: ModelsConfig) -> Choice:
    found_by = locator(models)
    yunet, detector_note = _choose_detector(analysis.detector, found_by)
    embedder, embedder_note = _choose_embedder(analysis.embedder, found_by)
    if detector_note and embedder_note and embedder_note.endswith("is not found; " + _FETCH_HINT):
        # neither strong model is here (a fresh machine): one line says so
        return Choice(None, None, (f"detector and embedder: dlib HOG and ResNet, because the strong models ({YUNET.name}, "
                                   f"{analysis.embedder.model}) are not found; `facetrail models fetch` downloads them, "
                                   f"or set {ENV_DIR} to a folder holding them",))
    return Choice(yunet, embedder, tuple(n for n in (detector_note, embedder_note) if n))


@dataclass(frozen=True)
class FaceModels:
    detector: FaceDetector
    embedder: FaceEmbedder
    notes: tuple[str, ...] = ()


def detector_of(choice: Choice, config: DetectorConfig, threads: int = 0) -> FaceDetector:
    if choice.yunet is None:
        return HogDetector(config.detect_width, config.min_face_px)
    runtime = config.yunet_runtime if config.yunet_runtime != "auto" else \
        "openvino" if _openvino_installed() else "opencv"
    return YuNetDetector(choice.yunet, config.score_threshold, config.detect_width, config.min_face_px, runtime, threads)


def embedder_of(choice: Choice, threads: int = 0) -> FaceEmbedder:
    if choice.embedder is None:
        return DlibEmbedder()
    found = choice.embedder
    return OpenVinoEmbedder(found.spec.name, found.path(".xml"), found.path(".bin"), threads)


def build_face_models(analysis: AnalysisConfig, models: ModelsConfig, threads: int = 0) -> FaceModels:
    """Detector and embedder of a config; `threads` caps the embedder's inference threads (0: the runtime's choice)."""
    choice = choose(analysis, models)
    return FaceModels(detector_of(choice, analysis.detector, threads), embedder_of(choice, threads), choice.notes)


def create_detector(config: DetectorConfig, models: ModelsConfig | None = None) -> FaceDetector:
    """The detector alone (enrolment checks, tests)."""
    found_by = locator(models or ModelsConfig())
    return detector_of(Choice(_choose_detector(config, found_by)[0], None), config)
