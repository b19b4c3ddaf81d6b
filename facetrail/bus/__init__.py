"""The event bus between stages: an interface, an embedded durable default, Kafka for deployments."""
