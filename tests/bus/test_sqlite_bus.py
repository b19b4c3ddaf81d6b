import sqlite3

import pytest

from facetrail.bus.sqlite_bus import SqliteBus


def test_published_messages_reach_a_consumer_in_order(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    for i in range(3):
        bus.publish("t", "k", f"m{i}".encode())
    records = bus.consumer("t", "g").poll(0.1)
    assert [r.value for r in records] == [b"m0", b"m1", b"m2"]


def test_uncommitted_messages_are_redelivered_after_a_restart(tmp_path):
    SqliteBus(tmp_path / "bus.db").publish("t", "k", b"x")
    first = SqliteBus(tmp_path / "bus.db").consumer("t", "g")
    assert len(first.poll(0.1)) == 1
    first.close()
    again = SqliteBus(tmp_path / "bus.db").consumer("t", "g")
    assert [r.value for r in again.poll(0.1)] == [b"x"]


def test_committed_messages_are_not_redelivered(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    bus.publish("t", "k", b"x")
    consumer = bus.consumer("t", "g")
    consumer.poll(0.1)
    consumer.commit()
    assert SqliteBus(tmp_path / "bus.db").consumer("t", "g").poll(0.05) == []


def test_groups_and_topics_are_independent(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    bus.publish("a", "k", b"1")
    bus.publish("b", "k", b"2")
    assert [r.value for r in bus.consumer("a", "g1").poll(0.1)] == [b"1"]
    assert [r.value for r in bus.consumer("a", "g2").poll(0.1)] == [b"1"]
    assert [r.value for r in bus.consumer("b", "g1").poll(0.1)] == [b"2"]


def test_a_person_s_messages_can_be_erased(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    bus.publish("t", "person-1", b"a")
    bus.publish("t", "person-2", b"b")
    assert bus.delete_where_key("t", "person-1") == 1
    assert [r.key for r in bus.messages("t")] == ["person-2"]


def test_messages_past_retention_are_deleted_on_every_topic(tmp_path):
    import time

    bus = SqliteBus(tmp_path / "bus.db")
    bus.publish("a", "k", b"old")
    bus.publish("b", "k", b"old")
    cut = time.time() + 0.001
    time.sleep(0.01)
    bus.publish("a", "k", b"new")
    assert bus.delete_published_before(cut) == 2
    assert [r.value for r in bus.messages("a")] == [b"new"] and bus.messages("b") == []


def test_publish_many_delivers_its_messages_in_order_after_earlier_ones(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    bus.publish("t", "k", b"m0")
    bus.publish_many("t", [("a", b"m1"), ("b", b"m2"), ("a", b"m3")])
    records = bus.consumer("t", "g").poll(0.1)
    assert [(r.key, r.value) for r in records] == [("k", b"m0"), ("a", b"m1"), ("b", b"m2"), ("a", b"m3")]


def test_messages_of_publish_many_survive_a_reopening_of_the_bus(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    bus.publish_many("t", [("k", b"x"), ("k", b"y")])
    bus.close()
    assert [r.value for r in SqliteBus(tmp_path / "bus.db").messages("t")] == [b"x", b"y"]


def test_a_failed_publish_many_publishes_none_of_its_messages(tmp_path):
    bus = SqliteBus(tmp_path / "bus.db")
    with pytest.raises(sqlite3.IntegrityError):
        bus.publish_many("t", [("k", b"ok"), ("k", None)])  # the NOT NULL value refuses the second row
    assert bus.messages("t") == []
    bus.publish("t", "k", b"after")  # and the bus is usable again
    assert [r.value for r in bus.messages("t")] == [b"after"]


def _open_bus_at_once(path, ready, results) -> None:
    ready.wait()
    try:
        bus = SqliteBus(path)
        for _ in range(20):
            bus.publish("t", "k", b"v")
        results.put("ok")
    except Exception as exc:  # reported to the test, which names it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_opening_a_new_bus_at_the_same_moment_all_succeed(tmp_path):
    """Two switching one new file to WAL together made one fail at once ("database is locked"), about once in
    30 starts of 8 processes here; a worker per core opening a fresh bus hit it."""
    import multiprocessing

    context = multiprocessing.get_context("fork")  # forked at once, so they reach the file together
    for attempt in range(30):
        ready, results = context.Event(), context.Queue()
        path = tmp_path / f"bus-{attempt}.db"  # the race is on a file's first switch to WAL
        procs = [context.Process(target=_open_bus_at_once, args=(path, ready, results)) for _ in range(12)]
        for proc in procs:
            proc.start()
        ready.set()
        outcomes = [results.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(timeout=30)
        assert outcomes == ["ok"] * len(procs)
