"""Where a catalogued model's files are on this machine, checked by size and SHA-256.

Search order: a folder named in the config (``models.dir``), then the folder named by
``FACETRAIL_MODEL_DIR``, then the download cache (``models.cache``, default
``$XDG_CACHE_HOME/facetrail/models``). In a folder a file is found by its publisher's name,
one of its aliases, or failing those by its checksum alone (any file of the right size),
so an air-gapped site may keep the files under whatever names it likes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from facetrail.models.catalogue import ModelFile, ModelSpec

ENV_DIR = "FACETRAIL_MODEL_DIR"
_HASH_CHUNK = 1 << 20
_digests: dict[tuple[str, int, int], str] = {}


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "facetrail" / "models"


def sha256_of(path: Path) -> str:
    """The file's SHA-256, remembered per path, size and modification time (a file is hashed once per process)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
        _digests[key] = digest.hexdigest()
    return _digests[key]


def is_intact(path: Path, file: ModelFile) -> bool:
    try:
        return path.is_file() and path.stat().st_size == file.size and sha256_of(path) == file.sha256
    except OSError:
        return False


@dataclass(frozen=True)
class FoundModel:
    spec: ModelSpec
    paths: tuple[Path, ...]
    """One per file of the spec, in its order."""
    where: str
    """The place the files were found: 'configured path', 'models.dir', 'FACETRAIL_MODEL_DIR' or 'cache'."""

    def path(self, suffix: str) -> Path:
        return next(p for p, f in zip(self.paths, self.spec.files) if f.file_name.endswith(suffix))


def _in_folder(folder: Path, file: ModelFile) -> Path | None:
    for name in (file.file_name, *file.aliases):
        if is_intact(folder / name, file):
            return folder / name
    try:
        same_size = [p for p in folder.iterdir() if p.is_file() and p.stat().st_size == file.size]
    except OSError:
        return None
    return next((p for p in sorted(same_size) if sha256_of(p) == file.sha256), None)


@dataclass(frozen=True)
class ModelLocator:
    folders: tuple[tuple[str, Path], ...]
    """(label, folder) searched in order, before the cache."""
    cache: Path

    @classmethod
    def create(cls, folder: Path | None = None, cache: Path | None = None) -> "ModelLocator":
        folders: list[tuple[str, Path]] = []
        if folder is not None:
            folders.append(("models.dir", folder))
        if os.environ.get(ENV_DIR):
            folders.append((ENV_DIR, Path(os.environ[ENV_DIR])))
        return cls(tuple(folders), cache or default_cache())

    def cache_folder(self, spec: ModelSpec) -> Path:
        return self.cache / spec.name

    def find(self, spec: ModelSpec) -> FoundModel | None:
        """The model's intact files from the first place that holds all of them; None when none does."""
        for label, folder in (*self.folders, ("cache", self.cache_folder(spec))):
            if not folder.is_dir():
                continue
            paths = [_in_folder(folder, f) for f in spec.files]
            if all(p is not None for p in paths):
                return FoundModel(spec, tuple(p for p in paths if p is not None), label)
        return None

    def configured(self, spec: ModelSpec, path: Path) -> FoundModel | None:
        """The model at a path given in the config: the file itself, the rest of its files beside it (same stem)."""
        paths = []
        for file in spec.files:
            candidate = path if path.suffix == Path(file.file_name).suffix else path.with_suffix(Path(file.file_name).suffix)
            if not is_intact(candidate, file):
                return None
            paths.append(candidate)
        return FoundModel(spec, tuple(paths), "configured path")
