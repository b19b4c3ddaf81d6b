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
