from services_fixtures import kafka_service  # noqa: F401  (session fixture: the real broker via scripts/services)
