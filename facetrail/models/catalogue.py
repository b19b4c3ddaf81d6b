"""The pinned catalogue of model files facetrail can use: publisher, address, size, checksum, licence.

A file is used only when its SHA-256 equals the one pinned here, wherever it was found
(a configured path, a model folder, the download cache): a model swapped on disk, or a
download cut short, is refused rather than run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ModelKind = Literal["detector", "embedder"]


@dataclass(frozen=True)
class ModelFile:
    """One file of a model, as its publisher releases it."""

    file_name: str
    """The publisher's file name (OpenVINO IR pairs share a stem, so read_model(xml) finds the .bin)."""
    url: str
    sha256: str
    size: int
    aliases: tuple[str, ...] = ()
    """Other names the same bytes are known by (e.g. a flattened '<name>_<precision>.xml')."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: ModelKind
    publisher: str
    licence: str
    files: tuple[ModelFile, ...]
    summary: str

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


_YUNET_COMMIT = "966be4cb6eefc2a4f586ed0581bf4bbaa2533070"
_OMZ = "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1/face-reidentification-retail-0095"

YUNET = ModelSpec(
    name="yunet-2023mar",
    kind="detector",
    publisher="OpenCV Zoo (models/face_detection_yunet)",
    licence="MIT",
    summary="YuNet face detector: boxes and five landmarks, run by OpenCV",
    files=(ModelFile(
        "face_detection_yunet_2023mar.onnx",
        f"https://github.com/opencv/opencv_zoo/raw/{_YUNET_COMMIT}/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4", 232_589),),
)


def _retail(precision: str, xml: tuple[str, int], binary: tuple[str, int]) -> ModelSpec:
    stem = "face-reidentification-retail-0095"
    return ModelSpec(
        name=f"{stem}-{precision.lower()}",
        kind="embedder",
        publisher="Intel Open Model Zoo 2023.0",
        licence="Apache-2.0",
        summary=f"face re-identification embedding, 256-d, cosine; OpenVINO IR {precision}",
        files=(
            ModelFile(f"{stem}.xml", f"{_OMZ}/{precision}/{stem}.xml", xml[0], xml[1], (f"{stem}_{precision}.xml",)),
            ModelFile(f"{stem}.bin", f"{_OMZ}/{precision}/{stem}.bin", binary[0], binary[1], (f"{stem}_{precision}.bin",)),
        ),
    )


RETAIL_0095_FP16 = _retail(
    "FP16",
    ("ce53d2c9c08c0bd1c1660fb8a5b6d0e3e4ec19eb92f1036d2d83a85e83082dce", 350_427),
    ("241229ca3d206321868d46ce74a3c0b06c49cea58db7dc70b2e842ff287545d1", 2_213_628),
)
RETAIL_0095_INT8 = _retail(
    "FP16-INT8",
    ("06626e796a2c308f5ff32b3045d5587ad5a83ba62a63797bb7e10c735a6da1fc", 650_833),
    ("b422592479d85804b7bb52c37f4663f3ef33ac9f2154d6072f09c2e251890aec", 1_196_364),
)

CATALOGUE: tuple[ModelSpec, ...] = (YUNET, RETAIL_0095_FP16, RETAIL_0095_INT8)
DEFAULT_MODELS: tuple[ModelSpec, ...] = (YUNET, RETAIL_0095_FP16)
"""What `facetrail models fetch` gets when no name is given: the default detector and embedder."""


class UnknownModel(LookupError):
    """A model name that is not in the catalogue; the message lists the known ones."""


def spec(name: str) -> ModelSpec:
    for model in CATALOGUE:
        if model.name == name:
            return model
    raise UnknownModel(f"no model named {name!r} in the catalogue; known: {', '.join(m.name for m in CATALOGUE)}")


def file_with_checksum(sha256: str) -> tuple[ModelSpec, ModelFile] | None:
    for model in CATALOGUE:
        for file in model.files:
            if file.sha256 == sha256:
                return model, file
    return None
