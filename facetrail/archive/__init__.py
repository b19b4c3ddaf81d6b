"""Archive search: recorded footage searched by the worker group as authorised jobs.

A job (one camera, its recordings, an authorisation reference) is cut into segments at key frames
(``plan``); workers lease segments from the database, analyse them through reprocessing's analysis path and
checkpoint as they go (``work``); ``recordings`` finds and fetches the files, local or on an object store.
See docs/archive.md for why the leases live in PostgreSQL rather than on a Kafka topic.
"""
