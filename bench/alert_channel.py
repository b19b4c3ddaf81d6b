"""Alert latency through the deployment path, read off the dashboard's live alert channel.

A throwaway deployment on the shared services: topics and consumer groups under
a per-run prefix (KafkaBusConfig.topic_prefix), a per-run PostgreSQL schema, a
per-run MinIO bucket. Real processes: a worker (facetrail's serve_cameras, with
bench/shot_log.py noting matched passes' shots), `facetrail trajectory` and
`facetrail api` (uvicorn on a free loopback port), an operator created with
`facetrail users add` and logged in through POST /api/v1/login. The bench
reads GET /api/v1/alerts/stream as the dashboard does; an alert's latency is
its arrival there minus its pass's first_seen. In the same run `facetrail
trajectory` forwards each candidate to a webhook receiver in the bench that
verifies its signature and, with Mosquitto up, to an MQTT subscriber
(bench/forward_listeners.py); their arrivals are measured the same way. The Kafka CreateTimes of the
sighting and the alert split the part after the matching shot into worker,
service and API.
"""

from __future__ import annotations

import base64
import json
import multiprocessing as mp
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
import yaml

from bench import shot_log
from bench.live import environment
from bench.clip import BenchClip, enrol_walkers, world_analysis
from bench.faces import world_models
from bench.forward_listeners import MqttListener, WebhookReceiver
from bench.report import CACHE, ROOT

PYTHON = sys.executable
SITE = "bench-latency"


@dataclass(frozen=True)
class Arrival:
    """One alert as the live channel delivered it."""

    event_id: str
    entry_id: str
    first_seen: datetime
    last_seen: datetime
    arrived: datetime
    final: bool
    """Announced by the pass's final publication (its fused shots decided at its end), not while it was open."""

    @property
    def latency_s(self) -> float:
        return (self.arrived - self.first_seen).total_seconds()


@dataclass(frozen=True)
class Sent:
    """When the worker's sighting and the service's alert were handed to Kafka (record CreateTime)."""

    sighting: dict[str, datetime]
    alert: dict[str, datetime]


@dataclass
class ChannelRun:
    arrivals: list[Arrival] = field(default_factory=list)
    sent: Sent = field(default_factory=lambda: Sent({}, {}))
    passes: dict[datetime, shot_log.PassHistory] = field(default_factory=dict)
    webhook: dict[str, datetime] = field(default_factory=dict)
    """First arrival of each alert (by event id) at the verifying webhook receiver."""
    mqtt: dict[str, datetime] | None = None
    """First arrival of each alert at the MQTT subscriber; None when no broker was up (scripts/services)."""
    bad_signatures: int = 0


@dataclass(frozen=True)
class Deployment:
    """Names of one run's throwaway deployment on the shared services."""

    run_id: str
    folder: Path
    env: dict[str, str]

    @property
    def prefix(self) -> str:
        return f"bench-latency-{self.run_id}."

    @property
    def schema(self) -> str:
        return f"bench_latency_{self.run_id}"

    @property
    def bucket(self) -> str:
        return f"bench-latency-{self.run_id}"

    @property
    def mqtt_prefix(self) -> str:
        return f"bench-{self.run_id}"

    @property
    def database_url(self) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(self.env["FACETRAIL_DATABASE_URL"]).update_query_dict({"options": f"-csearch_path={self.schema}"})
        return url.render_as_string(hide_password=False)

    @property
    def process_env(self) -> dict[str, str]:
        """Credentials reach the processes through the environment, never through the config file."""
        return {**os.environ, **self.env, "FACETRAIL_BENCH_DATABASE_URL": self.database_url, "PYTHONPATH": str(ROOT)}


def _forwarding(deployment: Deployment, webhook_url: str, mqtt: bool) -> dict:
    """Forwarding of candidates to the bench's receiver and, with a broker up, to MQTT under the run's own prefix."""
    forwarding: dict = {"webhooks": [{"name": "bench", "url": webhook_url, "secret_env": ["FACETRAIL_BENCH_WEBHOOK_SECRET"],
                                      "watchlists": ["default"], "events": ["candidate"]}]}
    if mqtt:
        forwarding["mqtt"] = {"host": "${FACETRAIL_MQTT_HOST}", "port": int(deployment.env["FACETRAIL_MQTT_PORT"]),
                              "username_env": "FACETRAIL_MQTT_USERNAME", "password_env": "FACETRAIL_MQTT_PASSWORD",
                              "topic_prefix": deployment.mqtt_prefix, "watchlists": ["default"], "events": ["candidate"],
                              "client_id": f"facetrail-{deployment.mqtt_prefix}"}
    return forwarding


def _config(deployment: Deployment, camera_url: str, fps: float, forwarding: dict | None = None) -> Path:
    config = {
        "site": SITE,
        "cameras": [{"id": "cam-0", "name": "cam-0", "source": camera_url, "position": {"x": 0.0, "y": 0.0}}],
        "analysis": world_analysis(fps, 1),
        "models": world_models(),
        "bus": {"kind": "kafka", "bootstrap_servers": "${FACETRAIL_KAFKA_BOOTSTRAP}", "client_id": "facetrail-bench",
                "topic_prefix": deployment.prefix},
        "objects": {"kind": "minio", "endpoint": "${FACETRAIL_MINIO_ENDPOINT}", "access_key": "${FACETRAIL_MINIO_ACCESS_KEY}",
                    "secret_key": "${FACETRAIL_MINIO_SECRET_KEY}", "bucket": deployment.bucket},
        "database": {"url": "${FACETRAIL_BENCH_DATABASE_URL}"},
        **({"forwarding": forwarding} if forwarding else {}),
    }
    path = deployment.folder / "facetrail.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


# ---- the shared services: set up and leave clean -------------------------------------------


def _create_schema(deployment: Deployment) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(deployment.env["FACETRAIL_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{deployment.schema}"'))
    engine.dispose()


def _drop_schema(deployment: Deployment) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(deployment.env["FACETRAIL_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{deployment.schema}" CASCADE'))
    engine.dispose()


def _drop_kafka_names(deployment: Deployment) -> None:
    """The run's consumer groups and topics leave the shared broker (only names under its prefix)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(bootstrap_servers=deployment.env["FACETRAIL_KAFKA_BOOTSTRAP"], client_id="facetrail-bench-admin")
    try:
        # `facetrail trajectory` exits without closing its consumers: their groups empty only once the
        # broker's session timeout (10 s) has passed, and a group with members cannot be deleted.
        deadline = time.monotonic() + 30.0
        while groups := [g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(deployment.prefix)]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"consumer groups still have members: {', '.join(groups)}")
            try:
                admin.delete_groups(groups)
            except KafkaError:
                pass  # not empty yet: asked again below
            time.sleep(1.0)
        topics = [t for t in admin.list_topics() if t.startswith(deployment.prefix)]
        if topics:
            admin.delete_topics(topics)
    finally:
        admin.close()


def _drop_bucket(deployment: Deployment) -> None:
    from minio import Minio

    client = Minio(deployment.env["FACETRAIL_MINIO_ENDPOINT"], deployment.env["FACETRAIL_MINIO_ACCESS_KEY"],
                   deployment.env["FACETRAIL_MINIO_SECRET_KEY"], secure=False)
    if not client.bucket_exists(deployment.bucket):
        return
    for obj in client.list_objects(deployment.bucket, recursive=True):
        client.remove_object(deployment.bucket, obj.object_name)
    client.remove_bucket(deployment.bucket)


def _await_topics(bootstrap: str, topics: list[str], timeout_s: float = 30.0) -> None:
    """Creation returns before every broker serves the topics' metadata; a consumer group that
    joined earlier would own no partition of them until its next metadata refresh (minutes)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, client_id="facetrail-bench")
    deadline = time.monotonic() + timeout_s
    try:
        while any(not consumer.partitions_for_topic(t) for t in topics):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kafka did not show the run's topics within {timeout_s:.0f} s")
            consumer.topics()  # forces a metadata refresh
            time.sleep(0.2)
    finally:
        consumer.close()


# ---- the processes ---------------------------------------------------------------------------


def _cli(deployment: Deployment, config: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([PYTHON, "-m", "facetrail.cli.main", *args, "--config", str(config)], cwd=ROOT, input=stdin,
                          env=deployment.process_env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"facetrail {args[0]} {args[1] if len(args) > 1 else ''}: {done.stderr.strip()[-300:]}")
    return done.stdout


def _service(deployment: Deployment, config: Path, name: str, *args: str) -> subprocess.Popen:
    log = open(deployment.folder / f"{name}.log", "w")
    return subprocess.Popen([PYTHON, "-m", "facetrail.cli.main", name, "--config", str(config), *args], cwd=ROOT,
                            env=deployment.process_env, stdout=log, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen, signum: int) -> None:
    if proc.poll() is None:
        proc.send_signal(signum)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _await_api(base: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"facetrail api exited with {proc.returncode} before serving")
        try:
            if httpx.get(f"{base}/api/v1/me", timeout=1.0).status_code == 401:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"facetrail api did not answer within {timeout_s:.0f} s")


def _worker_child(config_path: str, camera_ids: list[str], stop, shots_path: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    shot_log.install(Path(shots_path))
    from facetrail.config import load_config
    from facetrail.stores import Stores
    from facetrail.worker import serve_cameras

    serve_cameras(Stores(load_config(config_path), config_path), camera_ids, stop)


# ---- the live channel, as the dashboard reads it -----------------------------------------------


class AlertListener:
    """Reads the SSE stream on a thread, stamping each alert the moment its data line arrives."""

    def __init__(self, base: str, token: str):
        self.arrivals: list[Arrival] = []
        self.connected = threading.Event()
        self._client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                                    timeout=httpx.Timeout(5.0, read=None))
        self._thread = threading.Thread(target=self._read, name="sse-listener", daemon=True)

    def start(self) -> "AlertListener":
        self._thread.start()
        if not self.connected.wait(15):
            raise RuntimeError("the live alert stream did not open")
        return self

    def _read(self) -> None:
        try:
            with self._client.stream("GET", "/api/v1/alerts/stream") as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line.startswith("data: "):
                        self._note(line.removeprefix("data: "), datetime.now(timezone.utc))
        except (httpx.HTTPError, RuntimeError):  # closed by stop(), or the API went away
            return

    def _note(self, data: str, arrived: datetime) -> None:
        sighting = json.loads(data)["sighting"]
        self.arrivals.append(Arrival(sighting["event_id"], sighting["entry_id"], datetime.fromisoformat(sighting["first_seen"]),
                                     datetime.fromisoformat(sighting["last_seen"]), arrived, sighting["final"]))

    def stop(self) -> None:
        self._client.close()
        self._thread.join(5)


def _login(base: str, username: str, password: str) -> str:
    response = httpx.post(f"{base}/api/v1/login", json={"username": username, "password": password}, timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


def _sent_times(deployment: Deployment) -> Sent:
    """CreateTime of every record on the run's sightings and alerts topics, by event id (first publication)."""
    from kafka import KafkaConsumer, TopicPartition

    from facetrail.bus.channels import ALERTS_TOPIC
    from facetrail.bus.channels import SIGHTINGS_TOPIC

    consumer = KafkaConsumer(bootstrap_servers=deployment.env["FACETRAIL_KAFKA_BOOTSTRAP"], group_id=None,
                             enable_auto_commit=False, consumer_timeout_ms=3000, client_id="facetrail-bench")
    found: dict[str, dict[str, datetime]] = {}
    try:
        for logical in (SIGHTINGS_TOPIC, ALERTS_TOPIC):
            topic = deployment.prefix + logical
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            stamps = found.setdefault(logical, {})
            for msg in consumer:
                value = json.loads(msg.value)
                event_id = value.get("event_id") or value["sighting"]["event_id"]
                stamps.setdefault(event_id, datetime.fromtimestamp(msg.timestamp / 1000, timezone.utc))
    finally:
        consumer.close()
    return Sent(found.get(SIGHTINGS_TOPIC, {}), found.get(ALERTS_TOPIC, {}))


# ---- one run -----------------------------------------------------------------------------------


def measure(env: dict[str, str], clip: BenchClip, camera_url: str, window_s: float, fps: float = 5.0) -> ChannelRun:
    """Run the deployment for window_s on the looping camera; everything it made on the services is removed after."""
    from facetrail.bus.kafka_bus import DEFAULT_TOPICS, ensure_topics

    run_id = uuid.uuid4().hex[:8]
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    deployment = Deployment(run_id, CACHE / "alert_channel" / run_id, {**env, "FACETRAIL_BENCH_WEBHOOK_SECRET": secret})
    deployment.folder.mkdir(parents=True)
    receiver = WebhookReceiver(secret)
    listener = _mqtt_listener(deployment)
    config = _config(deployment, camera_url, fps, _forwarding(deployment, receiver.url, listener is not None))
    _create_schema(deployment)
    try:
        ensure_topics(env["FACETRAIL_KAFKA_BOOTSTRAP"], DEFAULT_TOPICS, prefix=deployment.prefix)
        _await_topics(env["FACETRAIL_KAFKA_BOOTSTRAP"], [deployment.prefix + t for t in DEFAULT_TOPICS])
        enrol_walkers(deployment.database_url, clip, world_analysis(fps, 1))
        run = _run_stack(deployment, config, window_s)
        run.webhook, run.bad_signatures = dict(receiver.arrived), receiver.bad_signatures
        run.mqtt = None if listener is None else dict(listener.arrived)
        return run
    finally:
        receiver.stop()
        if listener is not None:
            listener.stop()
        _leave_clean(deployment)


def _mqtt_listener(deployment: Deployment) -> MqttListener | None:
    """A subscriber on the broker scripts/services started; None when there is none (older var/services/env)."""
    env = deployment.env
    if not env.get("FACETRAIL_MQTT_HOST"):
        return None
    return MqttListener(env["FACETRAIL_MQTT_HOST"], int(env["FACETRAIL_MQTT_PORT"]), env["FACETRAIL_MQTT_USERNAME"],
                        env["FACETRAIL_MQTT_PASSWORD"], deployment.mqtt_prefix, SITE)


def _run_stack(deployment: Deployment, config: Path, window_s: float) -> ChannelRun:
    username, password = f"bench-{deployment.run_id}", secrets.token_urlsafe(24)
    _cli(deployment, config, "users", "add", username, "--role", "operator", "--password-stdin", stdin=password + "\n")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    api = _service(deployment, config, "api", "--port", str(port))
    trajectory = _service(deployment, config, "trajectory")
    listener = None
    shots = deployment.folder / "shots.jsonl"
    try:
        _await_api(base, api)
        listener = AlertListener(base, _login(base, username, password)).start()
        _watch(deployment, config, shots, window_s)
        time.sleep(3.0)  # the last passes' alerts are on their way
    finally:
        if listener is not None:
            listener.stop()
        _stop(trajectory, signal.SIGTERM)
        _stop(api, signal.SIGINT)
    return ChannelRun(list(listener.arrivals) if listener else [], _sent_times(deployment), shot_log.read(shots))


def _watch(deployment: Deployment, config: Path, shots: Path, window_s: float) -> None:
    context = mp.get_context("spawn")
    stop = context.Event()
    with environment({**deployment.env, "FACETRAIL_BENCH_DATABASE_URL": deployment.database_url}):
        proc = context.Process(target=_worker_child, args=(str(config), ["cam-0"], stop, str(shots)), name="bench-worker-cam-0")
        proc.start()
    try:
        time.sleep(window_s)
    finally:
        stop.set()
        proc.join(20)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)


def _leave_clean(deployment: Deployment) -> None:
    for step in (_drop_kafka_names, _drop_schema, _drop_bucket):
        try:
            step(deployment)
        except Exception as exc:  # noted and carried on: the other clean-ups still run
            print(f"[bench] alert channel clean-up {step.__name__}: {exc.__class__.__name__}: {exc}", file=sys.stderr)
