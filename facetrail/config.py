"""The one validated configuration model, loaded from YAML.

Relative paths in a config file are resolved against the file's folder, and
``${NAME}`` anywhere in a value reads the environment variable NAME (missing
variables are an error, so a deployment never falls back to a default secret).
"""

from __future__ import annotations

import ipaddress
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from facetrail.auth.roles import ROLES, Role, sees_everything
from facetrail.events import CAMERA_ID_PATTERN


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the field."""


TOPIC_PREFIX_PATTERN = r"^([A-Za-z0-9][A-Za-z0-9._-]{0,62}\.)?$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{2,62}$"
# What each pattern-validated field wants, in words: pydantic's own message quotes the regular expression.
PATTERN_WORDS: dict[str, str] = {
    CAMERA_ID_PATTERN: "1 to 63 lower-case letters, digits, '_' or '-', starting with a letter or digit",
    TOPIC_PREFIX_PATTERN: "empty, or up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit "
                          "and ending with '.' (e.g. 'site-b.')",
    BUCKET_PATTERN: "3 to 63 lower-case letters, digits, '.' or '-', starting with a letter or digit",
    r"^https?://[^\s]+$": "an http:// or https:// URL, without spaces",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Position(_Strict):
    """Camera position on the site plan, in metres."""

    x: float
    y: float


class CameraConfig(_Strict):
    id: str = Field(pattern=CAMERA_ID_PATTERN)
    name: str = Field(min_length=1)
    source: str = Field(min_length=1, description="rtsp:// URL or path of a video file")
    position: Position

    @property
    def is_live(self) -> bool:
        return self.source.startswith(("rtsp://", "rtsps://"))


class DetectorConfig(_Strict):
    backend: Literal["auto", "yunet", "hog"] = Field(
        "auto", description="auto: YuNet when its model is found (see models), else dlib's HOG")
    yunet_model: Path | None = Field(
        None, description="path of face_detection_yunet_2023mar.onnx; unset: looked for in models.dir, "
                          "FACETRAIL_MODEL_DIR and the model cache")
    yunet_runtime: Literal["auto", "openvino", "opencv"] = Field(
        "auto", description="auto: OpenVINO where installed (the same boxes, about twice as fast), else OpenCV")
    score_threshold: float = Field(0.6, gt=0, lt=1, description="YuNet's score a face needs")
    min_face_px: int = Field(40, ge=16, description="smallest face width analysed, full-resolution pixels")
    detect_width: int | None = Field(
        None, ge=160, description="frames are downscaled to this width for detection; unset: YuNet shrinks a frame only "
                                  "as far as keeps a min_face_px face 20 px wide (960 for 1080p and 40 px), HOG to 640")
    motion_regions: bool = Field(True, description="between whole-frame sweeps, search only where the picture moved")
    sweep_every_s: float = Field(
        2.0, gt=0, description="seconds between whole-frame searches, which find faces that never moved (motion_regions)")



class EmbedderConfig(_Strict):
    backend: Literal["auto", "openvino", "dlib"] = Field(
        "auto", description="auto: the OpenVINO model when it is found (see models), else dlib's ResNet")
    model: Literal["face-reidentification-retail-0095-fp16", "face-reidentification-retail-0095-fp16-int8"] = Field(
        "face-reidentification-retail-0095-fp16", description="the OpenVINO model (facetrail models list)")
    model_path: Path | None = Field(
        None, description="path of the model's .xml (its .bin beside it); unset: looked for in models.dir, "
                          "FACETRAIL_MODEL_DIR and the model cache")


class ModelsConfig(_Strict):
    dir: Path | None = Field(None, description="folder searched first for model files (by name and checksum)")
    cache: Path | None = Field(
        None, description="where `facetrail models fetch` stores models; default $XDG_CACHE_HOME/facetrail/models")
    mirror: str | None = Field(
        None, pattern=r"^https?://[^\s]+$",
        description="fetch from this site's mirror (<mirror>/<model name>/<file name>) instead of the publishers")


class TrackerConfig(_Strict):
    iou_threshold: float = Field(0.3, gt=0, lt=1)
    max_missing_s: float = Field(1.0, gt=0, description="a face unseen this long is no longer followed by its position")
    rejoin_s: float = Field(
        3.0, ge=0, description="until then a face that looks the same takes its pass up again (a walk split by an "
                               "occlusion stays one pass); 0 turns it off")

    @model_validator(mode="before")
    @classmethod
    def _replaced_fields(cls, data: object) -> object:
        if isinstance(data, dict) and "best_shots" in data:
            raise ValueError("best_shots was replaced: a pass is now decided on many shots fused together; "
                             "set analysis.passes.max_embeddings instead")
        return data


class PassConfig(_Strict):
    max_embeddings: int = Field(12, ge=1, le=200, description="most faces of one pass embedded for matching")
    max_embeddings_per_frame: int = Field(
        8, ge=1, le=200, description="most faces of one frame embedded (crowds: the rest are tracked by position)")
    fuse_top: int = Field(
        3, ge=1, le=20, description="shots a fused decision needs before it alerts; 'top' fusion: a pass's distance to "
                                    "an entry is the mean of its this-many nearest shots")
    fusion: Literal["top", "mean"] = Field(
        "top", description="'top': a pass is decided on each entry's fuse_top nearest shots; 'mean': on the normalised "
                           "mean of its embedded shots, searched like one face (BENCHMARKS.md section 7 compares them)")
    quality_weighted: bool = Field(False, description="'mean' fusion: weight each shot by its quality")


class MatchingConfig(_Strict):
    threshold: float | None = Field(
        None, gt=0, lt=2,
        description="largest embedding distance accepted as a match; unset: the operating point `facetrail calibrate` "
                    "set for the model in use, else the model's default (docs/threshold.md)")
    max_distance_ratio: float | None = Field(
        None, gt=0, le=1,
        description="a match's distance must be below this share of the nearest other identity's; 1 turns the test off; "
                    "unset: the calibrated or the model's default (docs/threshold.md)",
    )
    min_quality: float = Field(0.25, ge=0, le=1, description="poorer shots are never embedded")


class AnalysisConfig(_Strict):
    fps: float = Field(5.0, gt=0, le=60)
    detector: DetectorConfig = DetectorConfig()
    embedder: EmbedderConfig = EmbedderConfig()
    tracker: TrackerConfig = TrackerConfig()
    passes: PassConfig = PassConfig()
    matching: MatchingConfig = MatchingConfig()
    workers: int = Field(0, ge=0, description="analysis processes; 0 means one per CPU core")


class TrajectoryConfig(_Strict):
    new_track_gap_s: float = Field(1800.0, gt=0)
    max_speed_mps: float = Field(12.0, gt=0, description="faster implied travel marks a transition implausible")


class RetentionConfig(_Strict):
    sightings_days: int = Field(30, ge=1, le=3650)
    tracks_days: int = Field(30, ge=1, le=3650)
    evidence_days: int = Field(30, ge=1, le=3650)

    @property
    def bus_retention_ms(self) -> int:
        """Messages on the bus name watch-list entries: they are kept no longer than the shortest limit."""
        return min(self.sightings_days, self.tracks_days, self.evidence_days) * 86_400_000

    @property
    def bus_keeps_for(self) -> timedelta:
        """How long a message may still be read from the bus: its retention, plus Kafka's default segment age
        (7 days; a segment is deleted only once its newest message is past retention)."""
        return timedelta(milliseconds=self.bus_retention_ms) + timedelta(days=7)


class ListPermissions(_Strict):
    """Which roles may see the entries and sightings of one watch-list."""

    roles: tuple[Role, ...] = Field(min_length=1)


class WatchlistConfig(_Strict):
    max_expiry_days: int = Field(90, ge=1, le=3650)
    lists: dict[str, ListPermissions] = Field(
        default_factory=dict,
        description="named watch-lists and the roles allowed to see each; empty: one open 'default' list",
    )

    def allows(self, list_name: str, role: str) -> bool:
        """Whether `role` may see entries of `list_name`; admins always may, unknown lists never (when lists are named)."""
        if sees_everything(role):
            return True
        if not self.lists:
            return role in ROLES
        permissions = self.lists.get(list_name)
        return permissions is not None and role in permissions.roles


class ReviewConfig(_Strict):
    reviewers_required: int = Field(
        2, ge=1, le=2,
        description="distinct people who must confirm a match (2: the two-person rule of EU AI Act Art. 14(5))",
    )
    keep_rejected_examples: bool = Field(
        True, description="a rejected match is kept as a 'not this person' example that suppresses it next time",
    )


class AuditConfig(_Strict):
    anchor: Path | None = Field(
        None, description="file holding the audit log's head (seq, hash) outside the database; "
                          "default: next to a SQLite database file, none for other databases",
    )


class LoginConfig(_Strict):
    failures_per_account: int = Field(5, ge=1, le=1000, description="failed logins that lock an account")
    failures_per_client: int = Field(20, ge=1, le=10000, description="failed logins that lock a client address")
    window_minutes: float = Field(15.0, gt=0, le=1440, description="how far back failures count")
    lockout_minutes: float = Field(15.0, gt=0, le=1440, description="how long a lockout lasts")


class ApiConfig(_Strict):
    login: LoginConfig = LoginConfig()
    trusted_proxies: tuple[str, ...] = Field(
        (), description="addresses or networks (e.g. 127.0.0.1, 10.0.0.0/8) of reverse proxies whose X-Forwarded-For "
                        "and X-Forwarded-Proto are believed; from anyone else (by default everyone) they are ignored, "
                        "so a client cannot pick the address its failed logins are counted against",
    )
    max_body_bytes: int = Field(
        32_768, ge=1024, le=104_857_600,
        description="larger request bodies are refused with 413 before they are read (API bodies are a few hundred bytes)",
    )
    max_image_bytes: int = Field(
        10_485_760, ge=1024, le=104_857_600,
        description="the limit for uploaded images instead (enrolment photos, the site plan); larger ones get 413",
    )
    max_image_pixels: int = Field(
        40_000_000, ge=10_000, le=400_000_000,
        description="uploaded images with more pixels are refused with 413 before they are decoded",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or network (names and '*' are not accepted)") from None
        return proxies


ForwardedEventKind = Literal["candidate", "confirmed", "rejected", "camera_health"]
FORWARDED_EVENT_KINDS: tuple[str, ...] = ("candidate", "confirmed", "rejected", "camera_health")
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
TARGET_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
MQTT_PREFIX_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_/-]{0,100}$"
PATTERN_WORDS[ENV_NAME_PATTERN] = "the name of an environment variable (upper-case letters, digits, '_')"
PATTERN_WORDS[MQTT_PREFIX_PATTERN] = "up to 101 letters, digits, '_', '-' or '/', not starting with '/' (no MQTT wildcards)"


class ForwardingTargetConfig(_Strict):
    """What one forwarding target may receive: the rules every target shares."""

    watchlists: tuple[str, ...] = Field(
        min_length=1, description="the watch-lists whose matches it receives; 'default' is the list of an entry enrolled "
                                  "without one (nothing else is forwarded to it)")
    events: tuple[ForwardedEventKind, ...] = Field(
        ("candidate", "confirmed", "rejected"), min_length=1,
        description="which events: candidate (a new match), confirmed, rejected (review decisions), camera_health "
                    "(a camera's stream state changed)")
    role: Role = Field("operator", description="the role it receives as: a list the role may not see is never forwarded")
    display_names: bool = Field(False, description="send the entry's display name (otherwise only its id)")
    include_crop: bool = Field(False, description="send the evidence crop itself (JPEG, base64); otherwise only a link")


class WebhookConfig(ForwardingTargetConfig):
    name: str = Field(pattern=TARGET_NAME_PATTERN, description="names the target in the queue, the audit log and the CLI")
    url: str = Field(pattern=r"^https?://[^\s]+$", description="where events are POSTed")
    secret_env: tuple[str, ...] = Field(
        min_length=1, description="environment variables holding the signing secrets ('whsec_' + base64, as Standard "
                                  "Webhooks issues them, or any string); every one signs, so a key can be rotated")
    timeout_s: float = Field(5.0, gt=0, le=60, description="one delivery attempt's time limit")
    max_attempts: int = Field(15, ge=1, le=100, description="attempts before a delivery is dead-lettered")
    backoff_initial_s: float = Field(2.0, gt=0, le=3600, description="wait after the first failure; doubled each time")
    backoff_max_s: float = Field(600.0, gt=0, le=86400, description="longest wait between two attempts")

    @field_validator("secret_env")
    @classmethod
    def _env_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not re.match(ENV_NAME_PATTERN, name):
                raise ValueError(f"{name!r} is not an environment variable's name (the secret itself never goes "
                                 "in the config)")
        return names


class MqttConfig(ForwardingTargetConfig):
    host: str = Field(min_length=1, description="the broker's host name or address")
    port: int = Field(1883, ge=1, le=65535)
    tls: bool = Field(False, description="connect with TLS (certificates checked against ca_file or the system's)")
    ca_file: Path | None = Field(None, description="CA bundle for the broker's certificate")
    username_env: str | None = Field(None, pattern=ENV_NAME_PATTERN, description="environment variable holding the user name")
    password_env: str | None = Field(None, pattern=ENV_NAME_PATTERN, description="environment variable holding the password")
    topic_prefix: str = Field("facetrail", pattern=MQTT_PREFIX_PATTERN,
                              description="topics are <topic_prefix>/<site>/alerts, .../decisions, .../cameras/<id>/health")
    client_id: str | None = Field(None, max_length=100, description="default: facetrail-<site>")
    keepalive_s: int = Field(30, ge=5, le=3600)


class ForwardingConfig(_Strict):
    webhooks: list[WebhookConfig] = Field(default_factory=list, description="HTTP targets; none by default")
    mqtt: MqttConfig | None = Field(None, description="an MQTT broker; none by default")
    console_url: str | None = Field(None, pattern=r"^https?://[^\s]+$",
                                    description="the console's address, for links to the evidence in forwarded events")
    forward_within_s: float = Field(
        3600.0, gt=0, description="events older than this when forwarding reads them are not forwarded: enabling "
                                  "forwarding does not replay the bus's history, nor reprocessed old footage, as alerts")

    @field_validator("webhooks")
    @classmethod
    def _unique_names(cls, webhooks: list[WebhookConfig]) -> list[WebhookConfig]:
        names = [hook.name for hook in webhooks]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"webhook name {name!r} is used twice")
        return webhooks

    @property
    def enabled(self) -> bool:
        return bool(self.webhooks) or self.mqtt is not None


class SqliteBusConfig(_Strict):
    kind: Literal["sqlite"] = "sqlite"
    path: Path = Path("var/bus.db")


class KafkaBusConfig(_Strict):
    kind: Literal["kafka"]
    bootstrap_servers: str = Field(min_length=1)
    client_id: str = "facetrail"
    buffer_max_messages: int = Field(100_000, ge=1)
    topic_prefix: str = Field(
        "", pattern=TOPIC_PREFIX_PATTERN,
        description="prepended to every topic and consumer-group name (e.g. 'site-b.'), so deployments or "
                    "benchmarks sharing one broker never read, commit or rebalance each other's",
    )

    def topic(self, name: str) -> str:
        """The broker's name of facetrail topic `name`."""
        return self.topic_prefix + name

    def group(self, name: str) -> str:
        """The broker's name of facetrail consumer group `name`."""
        return self.topic_prefix + name


BusConfig = Annotated[Union[SqliteBusConfig, KafkaBusConfig], Field(discriminator="kind")]


class LocalObjectsConfig(_Strict):
    kind: Literal["local"] = "local"
    path: Path = Path("var/evidence")


class MinioObjectsConfig(_Strict):
    kind: Literal["minio"]
    endpoint: str = Field(min_length=1)
    access_key: str = Field(min_length=1)
    secret_key: str = Field(min_length=8)
    bucket: str = Field("facetrail-evidence", pattern=BUCKET_PATTERN)
    secure: bool = False


ObjectsConfig = Annotated[Union[LocalObjectsConfig, MinioObjectsConfig], Field(discriminator="kind")]


class DatabaseConfig(_Strict):
    url: str = "sqlite:///var/facetrail.db"


class ArchiveConfig(_Strict):
    """Archive search jobs: recordings cut into segments that workers lease from the database."""

    segment_s: float = Field(180.0, gt=0, description="target segment length; each is cut at the next key frame")
    overlap_s: float = Field(30.0, ge=0, description="one pass length: each segment is read this far before its start "
                                                   "and after its end, so a pass on a boundary is decided once")
    lease_s: float = Field(60.0, gt=0, description="a worker that renews no lease this long is taken as dead")
    max_attempts: int = Field(3, ge=1, le=100, description="a segment failing this often goes to the dead-letter state")
    nice: int = Field(10, ge=0, le=19, description="archive workers' CPU niceness: live cameras keep priority")
    cache_dir: Path = Field(Path("var/archive-cache"), description="where s3:// recordings are fetched to")


class Config(_Strict):
    site: str = "facetrail"
    cameras: list[CameraConfig] = Field(default_factory=list)
    analysis: AnalysisConfig = AnalysisConfig()
    models: ModelsConfig = ModelsConfig()
    trajectory: TrajectoryConfig = TrajectoryConfig()
    retention: RetentionConfig = RetentionConfig()
    watchlist: WatchlistConfig = WatchlistConfig()
    review: ReviewConfig = ReviewConfig()
    api: ApiConfig = ApiConfig()
    audit: AuditConfig = AuditConfig()
    bus: BusConfig = SqliteBusConfig()
    objects: ObjectsConfig = LocalObjectsConfig()
    database: DatabaseConfig = DatabaseConfig()
    forwarding: ForwardingConfig = ForwardingConfig()
    archive: ArchiveConfig = ArchiveConfig()

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        seen: set[str] = set()
        for camera in cameras:
            if camera.id in seen:
                raise ValueError(f"camera id {camera.id!r} is used twice")
            seen.add(camera.id)
        return cameras

    def camera(self, camera_id: str) -> CameraConfig:
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        raise ConfigError(f"no camera with id {camera_id!r}; configured: {', '.join(c.id for c in self.cameras) or 'none'}")


_ENV_REF = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def _expand_env(value: object, where: str) -> object:
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{where}.{i}") for i, v in enumerate(value)]
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where}: environment variable {name} is not set")
            return os.environ[name]

        return _ENV_REF.sub(substitute, value)
    return value


def _resolve_paths(config: Config, base: Path) -> Config:
    def absolute(path: Path | None) -> Path | None:
        return None if path is None or path.is_absolute() else (base / path).resolve()

    updates: dict[str, object] = {}
    detector, embedder = config.analysis.detector, config.analysis.embedder
    if detector.yunet_model is not None:
        detector = detector.model_copy(update={"yunet_model": absolute(detector.yunet_model) or detector.yunet_model})
    if embedder.model_path is not None:
        embedder = embedder.model_copy(update={"model_path": absolute(embedder.model_path) or embedder.model_path})
    updates["analysis"] = config.analysis.model_copy(update={"detector": detector, "embedder": embedder})
    models = config.models
    updates["models"] = models.model_copy(update={
        "dir": None if models.dir is None else absolute(models.dir) or models.dir,
        "cache": None if models.cache is None else absolute(models.cache) or models.cache})
    mqtt = config.forwarding.mqtt
    if mqtt is not None and mqtt.ca_file is not None:
        updates["forwarding"] = config.forwarding.model_copy(
            update={"mqtt": mqtt.model_copy(update={"ca_file": absolute(mqtt.ca_file) or mqtt.ca_file})})
    if config.audit.anchor is not None:
        updates["audit"] = AuditConfig(anchor=absolute(config.audit.anchor) or config.audit.anchor)
    updates["archive"] = config.archive.model_copy(update={"cache_dir": absolute(config.archive.cache_dir) or config.archive.cache_dir})
    if isinstance(config.bus, SqliteBusConfig):
        updates["bus"] = config.bus.model_copy(update={"path": absolute(config.bus.path) or config.bus.path})
    if isinstance(config.objects, LocalObjectsConfig):
        updates["objects"] = config.objects.model_copy(update={"path": absolute(config.objects.path) or config.objects.path})
    if config.database.url.startswith("sqlite:///") and not config.database.url.startswith("sqlite:////"):
        relative = config.database.url.removeprefix("sqlite:///")
        updates["database"] = DatabaseConfig(url=f"sqlite:///{(base / relative).resolve()}")
    cameras = [
        cam if cam.is_live or Path(cam.source).is_absolute() else cam.model_copy(update={"source": str((base / cam.source).resolve())})
        for cam in config.cameras
    ]
    updates["cameras"] = cameras
    return config.model_copy(update=updates)



def _in_words(error: ErrorDetails) -> str:
    if error["type"] == "string_pattern_mismatch" and error["ctx"]["pattern"] in PATTERN_WORDS:
        return f"must be {PATTERN_WORDS[error['ctx']['pattern']]}, not {error['input']!r}"
    return str(error["msg"])


def load_config(path: str | Path) -> Config:
    """Read, expand and validate a config file, raising ConfigError naming file and field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    try:
        expanded = _expand_env(raw, "")
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        config = Config.model_validate(expanded)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: field '{field}': {_in_words(first)}{more}") from None
    return _resolve_paths(config, path.parent.resolve())
