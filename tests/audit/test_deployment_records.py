"""`facetrail run` leaves a deployment trail: config hash, cameras started and stopped with the watch-list version, sweeps."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
from click.testing import CliRunner

from facetrail.audit.log import AuditLog
from facetrail.cli.main import cli
from facetrail.storage.database import Database
from facetrail.storage.watchlist_store import WatchlistStore


def write_clip(path: Path, seconds: float = 2.0, fps: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), (i * 9) % 256, np.uint8), format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_a_run_records_its_config_hash_each_camera_start_and_stop_and_a_retention_sweep(tmp_path):
    write_clip(tmp_path / "gate.mp4")
    config = tmp_path / "facetrail.yaml"
    config.write_text(
        'database: {url: "sqlite:///facetrail.db"}\nbus: {kind: sqlite, path: bus.db}\nobjects: {kind: local, path: objects}\n'
        "analysis: {workers: 1, fps: 2}\n"
        "cameras: [{id: gate-1, name: Gate, source: gate.mp4, position: {x: 0, y: 0}}]\n")
    result = CliRunner().invoke(cli, ["run", "-c", str(config), "--duration", "4"])
    assert result.exit_code == 0, result.output

    db = Database(f"sqlite:///{tmp_path / 'facetrail.db'}")
    records = AuditLog(db).records()
    version = WatchlistStore(db).version()
    by_action = {r.action: r for r in records}
    assert by_action["run.start"].details["config_sha256"] == hashlib.sha256(config.read_bytes()).hexdigest()
    assert by_action["run.start"].details["watchlist_version"] == version
    assert (by_action["camera.start"].subject, by_action["camera.start"].details["watchlist_version"]) == ("gate-1", version)
    assert by_action["camera.stop"].subject == "gate-1" and "unmatched_passes" in by_action["camera.stop"].details
    assert "retention.sweep" in by_action and records[-1].action == "run.stop"
    assert AuditLog(db).verify().ok
    db.dispose()


def _site(tmp_path) -> Path:
    config = tmp_path / "facetrail.yaml"
    config.write_text(
        'database: {url: "sqlite:///facetrail.db"}\nbus: {kind: sqlite, path: bus.db}\nobjects: {kind: local, path: objects}\n'
        "analysis: {fps: 2}\ncameras: [{id: gate-1, name: Gate, source: gate.mp4, position: {x: 0, y: 0}}]\n")
    return config


def _reprocess(tmp_path):
    clip, config = write_clip(tmp_path / "gate-recording.mp4"), _site(tmp_path)
    result = CliRunner().invoke(cli, ["reprocess", str(clip), "-c", str(config), "--camera", "gate-1",
                                      "--start", "2026-03-02T09:00:00Z"])
    assert result.exit_code == 0, result.output
    return clip, Database(f"sqlite:///{tmp_path / 'facetrail.db'}")


def test_a_reprocess_run_records_the_camera_its_files_by_sha256_the_watchlist_version_and_the_matches(tmp_path):
    from facetrail.audit.log import os_user

    clip, db = _reprocess(tmp_path)
    by_action = {r.action: r for r in AuditLog(db).records()}
    start, stop = by_action["reprocess.start"], by_action["reprocess.stop"]
    digest = hashlib.sha256(clip.read_bytes()).hexdigest()
    assert (start.actor, start.subject, start.details["files"]) == (os_user(), "gate-1", [{"sha256": digest, "bytes": clip.stat().st_size}])
    assert start.details["watchlist_version"] == stop.details["watchlist_version"] == WatchlistStore(db).version()
    [done] = stop.details["files"]
    assert done["sha256"] == digest and done["frames_analysed"] == 4 and stop.details["matched_passes"] == 0
    assert "gate-recording" not in str(start.details) + str(stop.details)
    db.dispose()


def test_reprocessed_footage_reports_the_cameras_health_as_recorded(tmp_path):
    from datetime import datetime, timezone

    from facetrail.storage.health_store import HealthStore

    _, db = _reprocess(tmp_path)
    [health] = HealthStore(db).all()
    assert (health.camera_id, health.state, health.unmatched_passes) == ("gate-1", "recorded", 0)
    assert health.last_frame_at == datetime(2026, 3, 2, 9, 0, 2, tzinfo=timezone.utc) and health.analysed_fps > 0
    db.dispose()


def test_queries_and_listings_from_the_command_line_are_audited_by_entry_id(tmp_path):
    from datetime import datetime, timedelta, timezone

    from facetrail.audit.log import os_user
    from facetrail.watchlist import EntryRecord

    config = _site(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'facetrail.db'}")
    now = datetime.now(timezone.utc)
    WatchlistStore(db).add(EntryRecord("e-ada", "Ada Lovelace", "default", "case 1", "test", "tester", now,
                                       now + timedelta(days=3)), np.ones((1, 128), np.float32), [],
                           model="dlib-resnet-v1")
    for args in (["tracks", "--person", "Ada Lovelace"], ["sightings", "--camera", "gate-1", "--since", "2026-01-01T00:00:00Z"],
                 ["watchlist", "list", "--format", "json"]):
        result = CliRunner().invoke(cli, [*args, "-c", str(config)])
        assert result.exit_code == 0, result.output
    records = [r for r in AuditLog(db).records()]
    assert [(r.actor, r.action, r.subject) for r in records] == [
        (os_user(), "tracks.search", "e-ada"), (os_user(), "sightings.search", ""), (os_user(), "watchlist.read", "")]
    assert records[1].details["camera"] == "gate-1" and records[1].details["since"].startswith("2026-01-01")
    assert records[2].details["returned"] == 1 and "Ada" not in str([r.details for r in records])
    db.dispose()
