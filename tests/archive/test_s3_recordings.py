"""Recordings on MinIO: `search-archive s3://bucket/prefix` fetches them through the object store, records them
by SHA-256 and finds what a reprocess of the local files finds."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from minio import Minio

from tests.archive.conftest import START, facetrail, named_sightings, write_site
from tests.backbone.stores import empty_bucket, private_bucket

pytestmark = [pytest.mark.e2e, pytest.mark.services]


@pytest.fixture
def recordings_bucket(minio_service, clips):
    """A bucket holding the three clips under cam-b/, in time order by name, and an unrelated object elsewhere."""
    client = Minio(minio_service.minio_endpoint, minio_service.minio_access_key, minio_service.minio_secret_key,
                   secure=False)
    bucket = private_bucket()
    client.make_bucket(bucket)
    for i, clip in enumerate(clips):
        client.fput_object(bucket, f"cam-b/2026-03-01/{i:02d}.mp4", clip)
    client.fput_object(bucket, "cam-a/other.mp4", clips[0])
    yield bucket
    empty_bucket(minio_service, bucket)


def test_recordings_under_an_s3_prefix_are_searched_like_local_files(minio_service, recordings_bucket, demo_scenario,
                                                                     clips, reprocessed, tmp_path):
    evidence = private_bucket()
    objects = {"kind": "minio", "endpoint": minio_service.minio_endpoint, "access_key": minio_service.minio_access_key,
               "secret_key": minio_service.minio_secret_key, "bucket": evidence}
    try:
        site = write_site(tmp_path / "site", demo_scenario, objects=objects)
        made = facetrail("search-archive", "-c", str(site), "--camera", "cam-b", "--authorisation", "warrant 3",
                         "--start", START, "--work", f"s3://{recordings_bucket}/cam-b/")
        job_id = re.search(r"job ([0-9a-f]{16})", made.stdout).group(1)  # type: ignore[union-attr]
        job = json.loads(facetrail("jobs", "show", job_id, "-c", str(site), "--format", "json").stdout)
        assert job["state"] == "done"
        digests = [hashlib.sha256(Path(c).read_bytes()).hexdigest() for c in clips]
        assert sorted({s["sha256"] for s in job["segments"]}) == sorted(set(digests))
        facetrail("trajectory", "-c", str(site), "--drain")
        assert named_sightings(site) == reprocessed
    finally:
        empty_bucket(minio_service, evidence)


def test_an_empty_prefix_is_refused_with_its_name(minio_service, recordings_bucket, demo_scenario, tmp_path):
    objects = {"kind": "minio", "endpoint": minio_service.minio_endpoint, "access_key": minio_service.minio_access_key,
               "secret_key": minio_service.minio_secret_key, "bucket": private_bucket()}
    site = write_site(tmp_path / "site", demo_scenario, enrol=False, objects=objects)
    result = facetrail("search-archive", "-c", str(site), "--camera", "cam-b", "--authorisation", "warrant 3",
                       f"s3://{recordings_bucket}/cam-z/", check=False)
    assert result.returncode == 1 and f"s3://{recordings_bucket}/cam-z/: no objects under this prefix" in result.stderr
