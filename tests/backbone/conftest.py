"""Backbone fixtures: the real services, a private database and bucket per test, a clean Kafka, the demo scenario."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from facetrail.demo.scenario import Scenario, build_scenario
from rtsp_fixtures import rtsp_server  # noqa: F401  (fixture)
from services_fixtures import REPO, ServiceEnv, kafka_service, minio_service, postgres_service  # noqa: F401
from tests.backbone.stores import empty_bucket, private_bucket, private_database, reset_kafka

FIGURES = REPO / "test-artifacts" / "backbone-figures.txt"
LEGAL_BASIS = "backbone test"
SITE_RETENTION = {"sightings_days": 3650, "tracks_days": 3650, "evidence_days": 3650}
"""Reprocessed footage is dated 2026-01-01 (demo.scenario.SITE_START): kept, not refused as past retention."""


def facetrail(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "facetrail.cli.main", *args], capture_output=True, text=True,
                            timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"}, cwd=REPO)
    if check and result.returncode != 0:
        raise AssertionError(f"facetrail {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def start_facetrail(*args: str, log: Path) -> subprocess.Popen:
    """A long-running facetrail command in its own process group, its output in `log`."""
    handle = log.open("w")
    return subprocess.Popen([sys.executable, "-m", "facetrail.cli.main", *args], stdout=handle, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONWARNINGS": "ignore"}, cwd=REPO,
                            start_new_session=True)


def stop_facetrail(process: subprocess.Popen, timeout_s: float = 60) -> None:
    """SIGTERM, then SIGKILL of its group if it does not end."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def demo_scenario() -> Scenario:
    return build_scenario(REPO / ".cache" / "test-scenario")


@dataclass(frozen=True)
class Backbone:
    env: ServiceEnv
    database_url: str
    bucket: str
    folder: Path

    def site(self, scenario: Scenario, sources: dict[str, str], workers: int = 2, enrol: bool = True,
             topic_prefix: str = "") -> Path:
        """A config for the scenario's cameras on the real services (this test's database and bucket)."""
        config = {
            "site": "backbone",
            "cameras": [{"id": c.id, "name": c.name, "source": sources[c.id], "position": {"x": c.x, "y": c.y}}
                        for c in scenario.cameras if c.id in sources],
            "analysis": {"fps": 5, "detector": {"backend": "hog"}, "workers": workers},
            "bus": {"kind": "kafka", "bootstrap_servers": self.env.kafka_bootstrap, "topic_prefix": topic_prefix},
            "objects": {"kind": "minio", "endpoint": self.env.minio_endpoint, "access_key": self.env.minio_access_key,
                        "secret_key": self.env.minio_secret_key, "bucket": self.bucket},
            "database": {"url": self.database_url},
            "retention": SITE_RETENTION,
        }
        path = self.folder / "site.yaml"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        if enrol:
            facetrail("watchlist", "import", str(scenario.watchlist_dir), "-c", str(path), "--legal-basis", LEGAL_BASIS,
                      "--image-source", "demo scenario", "--enrolled-by", "backbone")
        return path


@contextmanager
def fresh_backbone(kafka: ServiceEnv, minio: ServiceEnv, postgres: ServiceEnv, folder: Path) -> Iterator[Backbone]:
    reset_kafka(kafka)
    bucket = private_bucket()
    with private_database(postgres) as url:
        yield Backbone(kafka, url, bucket, folder)
        empty_bucket(minio, bucket)


@pytest.fixture
def backbone(kafka_service, minio_service, postgres_service, tmp_path) -> Iterator[Backbone]:  # noqa: F811
    """The real services, with a private database and bucket and an empty Kafka (no facetrail topics or groups)."""
    with fresh_backbone(kafka_service, minio_service, postgres_service, tmp_path) as world:
        yield world


@pytest.fixture(scope="module")
def module_backbone(kafka_service, minio_service, postgres_service, tmp_path_factory) -> Iterator[Backbone]:  # noqa: F811
    """As `backbone`, shared by the tests of one module (one expensive run, several assertions)."""
    with fresh_backbone(kafka_service, minio_service, postgres_service, tmp_path_factory.mktemp("backbone")) as world:
        yield world


@pytest.fixture
def figure(record_property):
    """Reports a measured figure: in the JUnit properties, on stdout and in test-artifacts/backbone-figures.txt."""

    def report(name: str, value: float, unit: str, detail: str = "") -> None:
        record_property(name, f"{value:.2f} {unit}")
        line = f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} {name} = {value:.2f} {unit}" + (f" ({detail})" if detail else "")
        print(line)
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        with FIGURES.open("a") as handle:
            handle.write(line + "\n")

    return report


@pytest.fixture(scope="session")
def kcat() -> str:
    """kcat (Debian's, on librdkafka): a Kafka client independent of facetrail's, as an integrator would use."""
    result = subprocess.run(["bash", str(REPO / "scripts" / "install-kcat")], capture_output=True, text=True,
                            timeout=900, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        pytest.fail(f"scripts/install-kcat failed: {result.stderr.strip()}", pytrace=False)
    return "kcat"


@pytest.fixture(scope="module")
def rtsp_server_module() -> Iterator:
    """As `rtsp_server`, for a module-scoped run."""
    from facetrail.demo.rtsp import RtspServerError, install_rtsp_deps, serve_clips

    try:
        install_rtsp_deps()
    except RtspServerError as exc:
        pytest.fail(f"cannot provide the RTSP server: {exc}")
    with ExitStack() as running:
        def start(mounts, loop: bool = False, once: bool = False, port: int = 0) -> str:
            try:
                return running.enter_context(serve_clips(mounts, loop=loop, once=once, port=port))
            except RtspServerError as exc:
                pytest.fail(str(exc))

        yield start
