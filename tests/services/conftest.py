from services_fixtures import kafka_service, minio_service, mosquitto_service, postgres_service  # noqa: F401  (session fixtures)
