"""Forwarding: alerts, review decisions and camera health sent where command centres already look.

Signed webhooks (Standard Webhooks) through a queue in the database that survives a restart, and MQTT
(QoS 1, retained availability with a last will). Nothing is forwarded unless the config names a target,
and each target receives only the watch-lists it names and its role may see. The intake follows the bus
(facetrail.bus.channels: alerts, decisions, camera health) as its own consumer group.
"""
