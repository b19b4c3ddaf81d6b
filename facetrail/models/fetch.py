"""Downloading catalogued models from their publishers into the cache, and importing them by hand.

A download goes to ``<cache>/.partial`` first; a connection cut short resumes where it
stopped (HTTP Range) a few times; only a file of the pinned size and SHA-256 is moved into
the cache. When a fetch fails its partial files are removed, so the cache never holds
half a model and the next try starts clean.
"""

from __future__ import annotations

import http.client
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from tqdm import tqdm

from facetrail.models.catalogue import ModelFile, ModelSpec, file_with_checksum
from facetrail.models.locate import FoundModel, ModelLocator, is_intact, sha256_of

_CHUNK = 1 << 16
ATTEMPTS = 4
TIMEOUT_S = 30.0


class ModelFetchError(Exception):
    """A model that could not be fetched or imported; the message says why and what to do."""


@dataclass(frozen=True)
class Fetched:
    model: FoundModel
    downloaded: int
    """Files downloaded now (0: all were in the cache already)."""


Progress = Callable[[ModelFile], "tqdm | None"]


def _bar(file: ModelFile) -> tqdm:
    return tqdm(total=file.size, unit="B", unit_scale=True, desc=file.file_name, disable=None, leave=False)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _unreachable(file: ModelFile, url: str, reason: object) -> ModelFetchError:
    return ModelFetchError(
        f"cannot download {file.file_name} from {_host(url)} ({reason}); without network, copy the files from a "
        f"machine that has them and run `facetrail models import FILE...`, or point FACETRAIL_MODEL_DIR at them")


def _attempt(file: ModelFile, url: str, part: Path, bar: tqdm | None, timeout_s: float) -> int:
    """One request, appending to `part` (resuming when the server honours Range); returns bytes received."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "facetrail-models"}
    if have:
        headers["Range"] = f"bytes={have}-"
    received = 0
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s) as response:
        if have and response.status != 206:
            have = 0  # the server sent the whole file again: start over
        if bar is not None:
            bar.reset(total=file.size)
            bar.update(have)
        with part.open("ab" if have else "wb") as out:
            while (have + received) <= file.size and (chunk := response.read(_CHUNK)):
                out.write(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
    return received


def _download(file: ModelFile, url: str, part: Path, progress: Progress, attempts: int, timeout_s: float,
              pause_s: float) -> None:
    """Fetch one file into `part`, resuming a download that broke off, at most `attempts` requests."""
    bar = progress(file)
    try:
        for attempt in range(attempts):
            if attempt:
                time.sleep(pause_s * attempt)
            try:
                _attempt(file, url, part, bar, timeout_s)
            except urllib.error.HTTPError as exc:
                raise ModelFetchError(f"{url}: the server answered {exc.code} {exc.reason}") from None
            except urllib.error.URLError as exc:
                raise _unreachable(file, url, exc.reason) from None
            except (http.client.HTTPException, ConnectionError, TimeoutError):
                continue  # cut off mid-transfer: the next request resumes
            if part.stat().st_size >= file.size:
                return
        got = part.stat().st_size if part.exists() else 0
        raise ModelFetchError(f"{url}: the download broke off {attempts} times ({got} of {file.size} bytes); "
                              "try again later")
    finally:
        if bar is not None:
            bar.close()


def _partial(locator: ModelLocator) -> Path:
    return locator.cache / ".partial"


def _clean(partial: Path) -> None:
    shutil.rmtree(partial, ignore_errors=True)


def source_url(spec: ModelSpec, file: ModelFile, mirror: str | None = None) -> str:
    """The publisher's address of a file, or its place on a site's mirror."""
    return file.url if mirror is None else f"{mirror.rstrip('/')}/{spec.name}/{file.file_name}"


def fetch(spec: ModelSpec, locator: ModelLocator, progress: Progress = _bar, attempts: int = ATTEMPTS,
          timeout_s: float = TIMEOUT_S, pause_s: float = 1.0, mirror: str | None = None) -> Fetched:
    """Download the model's files that the cache lacks; every file's checksum is checked before it enters the cache."""
    folder, partial = locator.cache_folder(spec), _partial(locator)
    missing = [f for f in spec.files if not is_intact(folder / f.file_name, f)]
    try:
        partial.mkdir(parents=True, exist_ok=True)
        for file in missing:
            part, url = partial / f"{spec.name}--{file.file_name}", source_url(spec, file, mirror)
            _download(file, url, part, progress, attempts, timeout_s, pause_s)
            if (digest := sha256_of(part)) != file.sha256:
                raise ModelFetchError(f"{url}: the file's SHA-256 {digest} differs from the pinned {file.sha256}; "
                                      "refused (a changed or corrupted file is never used)")
        folder.mkdir(parents=True, exist_ok=True)
        for file in missing:
            (partial / f"{spec.name}--{file.file_name}").replace(folder / file.file_name)
    finally:
        _clean(partial)
    return Fetched(FoundModel(spec, tuple(folder / f.file_name for f in spec.files), "cache"), len(missing))


@dataclass(frozen=True)
class Imported:
    source: Path
    model: str
    file_name: str


def import_file(path: Path, locator: ModelLocator) -> Imported:
    """Copy a file into the cache under its catalogue name, if its checksum is one the catalogue pins."""
    if not path.is_file():
        raise ModelFetchError(f"{path}: no such file")
    found = file_with_checksum(sha256_of(path))
    if found is None:
        raise ModelFetchError(f"{path}: its SHA-256 matches no file of the catalogue (`facetrail models list` shows "
                              "the models; a file from elsewhere or a changed file is refused)")
    spec, file = found
    folder = locator.cache_folder(spec)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file.file_name
    if not is_intact(target, file):
        staging = folder / f".{file.file_name}.importing"
        shutil.copyfile(path, staging)
        staging.replace(target)
    return Imported(path, spec.name, file.file_name)
