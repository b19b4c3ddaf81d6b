from pathlib import Path

import pytest

from facetrail.config import PATTERN_WORDS, Config, ConfigError, KafkaBusConfig, load_config

VALID = """
cameras:
  - id: cam-a
    name: Entrance
    source: clips/cam-a.mp4
    position: {x: 0, y: 5}
analysis:
  fps: 5
"""


def test_a_valid_config_resolves_relative_paths_against_its_folder(write_config):
    path = write_config(VALID)
    config = load_config(path)
    assert config.cameras[0].source == str(path.parent / "clips" / "cam-a.mp4")
    assert config.database.url == f"sqlite:///{path.parent / 'var' / 'facetrail.db'}"


def test_an_unknown_key_names_the_file_and_the_field(write_config):
    path = write_config(VALID + "  fsp: 3\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and "analysis.fsp" in str(error.value)


def test_a_wrong_value_names_the_field(write_config):
    path = write_config(VALID.replace("fps: 5", "fps: -1"))
    with pytest.raises(ConfigError, match=r"analysis\.fps"):
        load_config(path)


def test_an_unsafe_camera_id_is_refused(write_config):
    with pytest.raises(ConfigError, match=r"cameras\.0\.id"):
        load_config(write_config(VALID.replace("id: cam-a", "id: ../etc")))


def test_duplicate_camera_ids_are_refused(write_config):
    text = VALID + """  - id: cam-a
    name: Again
    source: x.mp4
    position: {x: 1, y: 1}
"""
    text = text.replace("analysis:\n  fps: 5\n", "") + "analysis:\n  fps: 5\n"
    with pytest.raises(ConfigError, match="used twice"):
        load_config(write_config(text))


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_is_a_clear_error(write_config):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write_config("cameras: [\n"))


def test_environment_variables_fill_deployment_settings(write_config, monkeypatch):
    monkeypatch.setenv("FT_TEST_KAFKA", "127.0.0.1:19092")
    config = load_config(write_config("bus: {kind: kafka, bootstrap_servers: '${FT_TEST_KAFKA}'}\n"))
    assert isinstance(config.bus, KafkaBusConfig) and config.bus.bootstrap_servers == "127.0.0.1:19092"


def test_a_missing_environment_variable_is_an_error_not_a_default(write_config, monkeypatch):
    monkeypatch.delenv("FT_TEST_SECRET", raising=False)
    with pytest.raises(ConfigError, match="FT_TEST_SECRET is not set"):
        load_config(write_config("objects: {kind: minio, endpoint: x, access_key: a, secret_key: '${FT_TEST_SECRET}'}\n"))


def test_an_embedding_model_outside_the_catalogue_is_refused_naming_the_field(write_config):
    with pytest.raises(ConfigError, match="analysis.embedder.model"):
        load_config(write_config("analysis: {embedder: {backend: openvino, model: arcface-r100}}\n"))


def test_model_paths_are_relative_to_the_config_file(write_config, tmp_path):
    config = load_config(write_config("analysis: {embedder: {model_path: m/face.xml}}\nmodels: {dir: models}\n"))
    assert config.analysis.embedder.model_path == (tmp_path / "m" / "face.xml").resolve()
    assert config.models.dir == (tmp_path / "models").resolve()


def test_the_shipped_configs_are_valid(monkeypatch):
    for name in ("FACETRAIL_KAFKA_BOOTSTRAP", "FACETRAIL_MINIO_ENDPOINT", "FACETRAIL_MINIO_ACCESS_KEY",
                 "FACETRAIL_MINIO_SECRET_KEY", "FACETRAIL_DATABASE_URL", "FACETRAIL_AUDIT_ANCHOR"):
        monkeypatch.setenv(name, "postgresql+psycopg://u:p@127.0.0.1/x" if "DATABASE" in name else "value-1234")
    configs = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
    assert configs
    for path in configs:
        load_config(path)


def test_a_kafka_topic_prefix_is_put_in_front_of_every_topic_and_group_name(write_config):
    config = load_config(write_config("bus: {kind: kafka, bootstrap_servers: 'k:9092', topic_prefix: bench-1.}\n"))
    assert config.bus.topic("facetrail.alerts.v1") == "bench-1.facetrail.alerts.v1"
    assert config.bus.group("facetrail-trajectory") == "bench-1.facetrail-trajectory"


def test_without_a_topic_prefix_topic_and_group_names_are_unchanged():
    bus = KafkaBusConfig(kind="kafka", bootstrap_servers="k:9092")
    assert (bus.topic("facetrail.alerts.v1"), bus.group("g")) == ("facetrail.alerts.v1", "g")


@pytest.mark.parametrize("prefix", ["bench", "../x.", "bench 1.", ".bench."])
def test_a_topic_prefix_that_is_not_a_dotted_kafka_name_is_refused_naming_the_field(write_config, prefix):
    with pytest.raises(ConfigError, match="bus.kafka.topic_prefix"):
        load_config(write_config(f"bus: {{kind: kafka, bootstrap_servers: 'k:9092', topic_prefix: '{prefix}'}}\n"))


@pytest.mark.parametrize("ratio", ["0", "1.2"])
def test_a_distance_ratio_outside_zero_to_one_is_refused_naming_the_field(write_config, ratio):
    with pytest.raises(ConfigError, match=r"analysis\.matching\.max_distance_ratio"):
        load_config(write_config(VALID + f"  matching:\n    max_distance_ratio: {ratio}\n"))


@pytest.mark.parametrize("text, field, wanted", [
    ("bus: {kind: kafka, bootstrap_servers: 'k:9092', topic_prefix: 'bench'}\n", "bus.kafka.topic_prefix",
     "letters, digits, '.', '_' or '-', starting with a letter or digit and ending with '.'"),
    (VALID.replace("id: cam-a", "id: Cam A"), "cameras.0.id", "lower-case letters, digits, '_' or '-'"),
    ("objects: {kind: minio, endpoint: 'm:9000', access_key: a, secret_key: 'secret-1234', bucket: Evidence}\n",
     "objects.minio.bucket", "3 to 63 lower-case letters, digits, '.' or '-'"),
])
def test_a_value_failing_a_pattern_is_told_what_is_wanted_in_words_not_the_pattern(write_config, text, field, wanted):
    with pytest.raises(ConfigError) as error:
        load_config(write_config(text))
    message = str(error.value)
    assert f"field '{field}': must be " in message and wanted in message
    assert "^" not in message and "String should match pattern" not in message


def _patterns(schema) -> set[str]:
    if isinstance(schema, dict):
        own = {schema["pattern"]} if isinstance(schema.get("pattern"), str) else set()
        return own.union(*(_patterns(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_patterns(value) for value in schema))
    return set()


def test_every_pattern_a_config_field_must_match_is_described_in_words():
    undescribed = _patterns(Config.model_json_schema()) - set(PATTERN_WORDS)
    assert not undescribed, f"add these patterns to PATTERN_WORDS in facetrail/config.py: {sorted(undescribed)}"
