"""Real photos for the analytics tests.

face_recognition's test photos (Obama, Biden) ship in its sdist, not its wheel:
the sdist is fetched once with pip into .cache/downloads; without network the
tests that need it skip, saying so.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from facetrail.watchlist import EnrolledPerson, EntryRecord

ROOT = Path(__file__).resolve().parents[2]
DOWNLOADS = ROOT / ".cache" / "downloads"
SDIST = "face_recognition-1.3.0"
SHARED = ROOT.parent / "shared"
YUNET_MODEL = SHARED / "models" / "face_detection_yunet_2023mar.onnx"


def _fetch_sdist() -> Path:
    photos = DOWNLOADS / SDIST / "tests" / "test_images"
    if (photos / "obama.jpg").is_file():
        return photos
    archive = DOWNLOADS / f"{SDIST}.tar.gz"
    if not archive.is_file():
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps", "face-recognition==1.3.0", "-d", str(DOWNLOADS)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0 or not archive.is_file():
            pytest.skip("face_recognition's test photos need its sdist from PyPI, which could not be downloaded (offline?)")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(f"{SDIST}/tests/test_images/")]
        tar.extractall(DOWNLOADS, members=members, filter="data")
    return photos


@pytest.fixture(scope="session")
def photos() -> Path:
    return _fetch_sdist()


@pytest.fixture(scope="session")
def obama(photos) -> np.ndarray:
    return cv2.imread(str(photos / "obama.jpg"))


@pytest.fixture(scope="session")
def obama2(photos) -> np.ndarray:
    return cv2.imread(str(photos / "obama2.jpg"))


@pytest.fixture(scope="session")
def biden(photos) -> np.ndarray:
    return cv2.imread(str(photos / "biden.jpg"))


@pytest.fixture(scope="session")
def hog_detector():
    from facetrail.analytics.detector import HogDetector

    return HogDetector(detect_width=640, min_face_px=40)


@pytest.fixture(scope="session")
def yunet_model_path() -> Path:
    if not YUNET_MODEL.is_file():
        pytest.skip(f"YuNet model not found at {YUNET_MODEL} (../shared/models is absent)")
    return YUNET_MODEL


@pytest.fixture(scope="session")
def yunet_detector(yunet_model_path):
    from facetrail.analytics.detector import YuNetDetector

    return YuNetDetector(yunet_model_path, score_threshold=0.8, detect_width=640, min_face_px=40)


@pytest.fixture(scope="session")
def yunet_openvino_detector(yunet_model_path):
    """YuNet on OpenVINO, whose regions grow to the detector's ladder of input shapes."""
    from facetrail.analytics.detector import YuNetDetector

    return YuNetDetector(yunet_model_path, score_threshold=0.8, detect_width=640, min_face_px=40, runtime="openvino")


@pytest.fixture(scope="session")
def embedder():
    from facetrail.analytics.dlib_embedder import DlibEmbedder

    return DlibEmbedder()


def _make_person(entry_id: str, embeddings: np.ndarray, *, expires_in_days: float = 30, threshold: float | None = None,
                rejected: np.ndarray | None = None) -> EnrolledPerson:
    now = datetime.now(timezone.utc)
    record = EntryRecord(
        entry_id=entry_id,
        display_name=entry_id,
        watchlist="test",
        legal_basis="test case",
        image_source="face_recognition test photos",
        enrolled_by="tester",
        created_at=now - timedelta(days=1),
        expires_at=now + timedelta(days=expires_in_days),
        threshold=threshold,
    )
    embeddings = np.asarray(embeddings, np.float32).reshape(-1, 128)
    if rejected is None:
        return EnrolledPerson(record=record, embeddings=embeddings)
    return EnrolledPerson(record=record, embeddings=embeddings, rejected=np.asarray(rejected, np.float32).reshape(-1, 128))


def _face_embedding(image: np.ndarray, detector, embedder) -> np.ndarray:
    detections = detector.detect(image)
    assert len(detections) == 1
    return embedder.embed(image, detections)[0]


@pytest.fixture(scope="session")
def make_person():
    """Builds an EnrolledPerson with a valid accountability record."""
    return _make_person


@pytest.fixture(scope="session")
def face_embedding():
    """Embedding of the single face of a photo."""
    return _face_embedding
