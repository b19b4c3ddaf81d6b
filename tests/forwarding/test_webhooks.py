"""Webhooks end to end: real alerts from the trajectory service, the durable queue, a verifying receiver."""

from __future__ import annotations

import json
import logging
import socket
import time

import jsonschema
from click.testing import CliRunner

from facetrail.accountability.erasure import erase_entry
from facetrail.accountability.review import ReviewDesk
from facetrail.alerts import Alert
from facetrail.bus.channels import ALERTS
from facetrail.cli.main import cli
from facetrail.event_schemas import FORWARDED, shipped_schema
from tests.forwarding.conftest import SECRET, Receiver, start_receiver, webhook


def _run(site, until, timeout_s: float = 20.0):
    forwarding = site.stores.forwarding().start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not until():
            time.sleep(0.05)
    finally:
        forwarding.stop()


def test_a_match_reaches_the_receiver_signed_with_a_minimal_payload(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url)], "console_url": "https://console.example"})
    site.enrol("ada", "Ada Lovelace")
    event = site.match("ada")
    _run(site, lambda: state.handled)
    [(message_id, body)] = state.handled.items()
    assert message_id == f"candidate-{event.event_id}" and body["id"] == message_id
    assert body["type"] == "sighting.candidate" and body["site"] == "hq"
    data = body["data"]
    assert (data["event_id"], data["entry_id"], data["camera_id"], data["camera_name"]) == (event.event_id, "ada", "gate", "Main gate")
    assert data["review_state"] == "candidate" and data["score"] == 0.71
    assert data["evidence_url"] == f"https://console.example/api/v1/sightings/{event.event_id}/evidence"
    assert data["display_name"] is None and data["crop_jpeg_base64"] is None
    assert state.bad_signatures == 0


def test_a_forwarded_sighting_obeys_its_shipped_schema(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url, display_names=True, include_crop=True)]})
    site.enrol("ada", "Ada Lovelace")
    site.match("ada")
    _run(site, lambda: state.handled)
    [body] = state.handled.values()
    jsonschema.validate(body, shipped_schema(FORWARDED[0]))
    assert body["data"]["display_name"] == "Ada Lovelace" and body["data"]["crop_jpeg_base64"]


def test_a_receiver_failing_for_a_while_gets_every_event_once_after_it_recovers(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url)]})
    site.enrol("ada", "Ada")
    events = [site.match("ada", seconds=60.0 * i) for i in range(5)]
    state.fail_for(2.5)
    _run(site, lambda: len(state.handled) == 5)
    assert set(state.handled) == {f"candidate-{e.event_id}" for e in events}
    assert all(count > 1 for count in state.attempts.values()), "the receiver's 500s were retried"
    assert not state.repeats and state.bad_signatures == 0


def test_a_receiver_that_was_down_gets_every_delivery_once_it_is_back(make_site):
    """The issue's two-minute outage, compressed by the backoff settings: nothing listens, then it does."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = Receiver(SECRET)
    site = make_site({"webhooks": [webhook(f"http://127.0.0.1:{port}/hook")]})
    site.enrol("ada", "Ada")
    events = [site.match("ada", seconds=60.0 * i) for i in range(3)]
    forwarding = site.stores.forwarding().start()
    try:
        time.sleep(2.0)  # every attempt meanwhile is refused
        queue = site.stores.forwarding_queue
        assert queue.counts()[0].pending == 3
        server = start_receiver(state, port)
        try:
            state.wait_for(3, timeout_s=15)
        finally:
            server.shutdown()
            server.server_close()
    finally:
        forwarding.stop()
    assert set(state.handled) == {f"candidate-{e.event_id}" for e in events} and not state.repeats


def test_an_alert_handed_over_twice_by_the_bus_is_delivered_once(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url)]})
    site.enrol("ada", "Ada")
    event = site.match("ada")
    ALERTS.publish(site.stores.bus, Alert(sighting=event, track_id=None))  # at-least-once: the same alert again
    _run(site, lambda: False, timeout_s=2.0)
    assert list(state.attempts.values()) == [1] and list(state.handled) == [f"candidate-{event.event_id}"]


def test_queued_deliveries_survive_a_restart(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url, backoff_initial_s=0.2, backoff_max_s=0.2)]})
    site.enrol("ada", "Ada")
    event = site.match("ada")
    state.fail_for(3600)
    _run(site, lambda: state.attempts, timeout_s=10)
    assert not state.handled and site.stores.forwarding_queue.counts()[0].pending == 1
    state.fail_for(0)
    restarted = make_site({"webhooks": [webhook(url, backoff_initial_s=0.2, backoff_max_s=0.2)]})
    _run(restarted, lambda: state.handled)
    assert list(state.handled) == [f"candidate-{event.event_id}"]


def test_a_delivery_is_dead_lettered_after_its_attempts_and_retry_sends_it_again(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url, max_attempts=2)]})
    site.enrol("ada", "Ada")
    site.match("ada")
    state.fail_for(3600)
    queue = site.stores.forwarding_queue
    _run(site, lambda: queue.counts() and queue.counts()[0].dead == 1, timeout_s=10)
    assert queue.counts()[0].dead == 1 and sum(state.attempts.values()) == 2
    status = CliRunner().invoke(cli, ["forwarding", "status", "--dead", "-c", site.stores.config_path])
    assert "0 pending, 0 delivered, 1 dead-lettered" in status.output and "HTTP 500" in status.output
    state.fail_for(0)
    retried = CliRunner().invoke(cli, ["forwarding", "retry", "-c", site.stores.config_path])
    assert retried.exit_code == 0 and "1 dead-lettered delivery queued again" in retried.output
    _run(site, lambda: state.handled)
    assert len(state.handled) == 1 and queue.counts()[0].delivered == 1


def test_erasing_an_entry_cancels_its_queued_deliveries(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url)]})
    site.enrol("ada", "Ada")
    site.enrol("bob", "Bob")
    site.match("ada")
    kept = site.match("bob", seconds=5)
    state.fail_for(3600)
    queue = site.stores.forwarding_queue
    _run(site, lambda: len(state.attempts) == 2, timeout_s=10)
    report = erase_entry("ada", site.stores.db, site.stores.objects, site.stores.bus,
                         bus_keeps_for=site.stores.config.retention.bus_keeps_for)
    assert report.deliveries_cancelled == 1
    state.fail_for(0)
    _run(site, lambda: state.handled, timeout_s=10)
    time.sleep(0.5)
    assert list(state.handled) == [f"candidate-{kept.event_id}"]
    assert [(c.pending, c.delivered) for c in queue.counts()] == [(0, 1)]


def test_a_target_receives_only_the_lists_it_names_and_its_role_may_see(make_site, receiver):
    state, url = receiver
    lists = {"lists": {"vip": {"roles": ["operator"]}, "secret": {"roles": ["auditor"]}}}
    site = make_site({"webhooks": [webhook(url, watchlists=["vip", "secret"], display_names=True)]}, watchlist=lists)
    site.enrol("ada", "Ada", watchlist="vip")
    site.enrol("eve", "Eve", watchlist="secret")
    site.enrol("bob", "Bob", watchlist="default")
    shown = site.match("ada")
    site.match("eve", seconds=5)
    site.match("bob", seconds=10)
    _run(site, lambda: False, timeout_s=2.0)
    assert list(state.handled) == [f"candidate-{shown.event_id}"]
    assert state.handled[f"candidate-{shown.event_id}"]["data"]["display_name"] == "Ada"


def test_a_review_decision_is_forwarded_once_settled(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url, events=["confirmed", "rejected"])]}, review={"reviewers_required": 1})
    site.enrol("ada", "Ada")
    event = site.match("ada")
    ReviewDesk(site.stores.db, site.stores.audit, 1, bus=site.stores.bus).decide(event.event_id, "rita", "confirm")
    _run(site, lambda: state.handled)
    [(message_id, body)] = state.handled.items()
    assert message_id == f"confirmed-{event.event_id}" and body["type"] == "sighting.confirmed"
    assert body["data"]["review_state"] == "confirmed" and body["data"]["confirmations"] == 1


def test_a_camera_changing_state_is_forwarded_but_repeated_reports_are_not(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url, events=["camera_health"])]})
    for at_s, camera_state in enumerate(["streaming", "streaming", "reconnecting", "streaming"]):
        site.camera_state(camera_state, at_s)
    _run(site, lambda: len(state.handled) == 3)
    time.sleep(0.3)
    bodies = sorted(state.handled.values(), key=lambda b: b["timestamp"])
    assert [(b["data"]["previous_state"], b["data"]["state"]) for b in bodies] == [
        (None, "streaming"), ("streaming", "reconnecting"), ("reconnecting", "streaming")]
    jsonschema.validate(bodies[0], shipped_schema(FORWARDED[1]))


def test_every_delivery_is_audited_and_no_secret_reaches_the_logs_or_the_audit(make_site, receiver, caplog):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url)]})
    site.enrol("ada", "Ada")
    event = site.match("ada")
    state.fail_for(0.6)
    with caplog.at_level(logging.DEBUG):
        _run(site, lambda: state.handled)
    time.sleep(0.2)
    deliveries = [r for r in site.stores.audit.records() if r.action == "forwarding.delivery"]
    assert [(r.subject, r.details["event_id"], r.details["outcome"]) for r in deliveries] == [
        ("vms", event.event_id, "delivered")]
    everything = caplog.text + json.dumps([r.details for r in site.stores.audit.records()])
    assert "HTTP 500" in caplog.text
    assert SECRET not in everything and SECRET.removeprefix("whsec_") not in everything


def test_keys_can_rotate_the_receiver_accepts_either_secret(make_site, receiver, monkeypatch):
    from tests.forwarding.conftest import OLD_SECRET

    state, url = receiver
    monkeypatch.setenv("FT_TEST_OLD_SECRET", OLD_SECRET)
    state.secret = OLD_SECRET  # a receiver that has not switched to the new key yet
    site = make_site({"webhooks": [webhook(url, secret_env=["FT_TEST_WEBHOOK_SECRET", "FT_TEST_OLD_SECRET"])]})
    site.enrol("ada", "Ada")
    site.match("ada")
    _run(site, lambda: state.handled)
    assert len(state.handled) == 1 and state.bad_signatures == 0


def test_the_retention_sweep_deletes_deliveries_as_old_as_the_sightings_limit(make_site, receiver):
    from datetime import datetime, timedelta, timezone

    from facetrail.accountability.retention import sweep

    state, url = receiver
    site = make_site({"webhooks": [webhook(url)]})
    site.enrol("ada", "Ada")
    site.match("ada")
    _run(site, lambda: state.handled)
    stores = site.stores
    later = datetime.now(timezone.utc) + timedelta(days=stores.config.retention.sightings_days, minutes=1)
    sweep(stores.config, stores.db, stores.objects, stores.bus, stores.audit, now=later)
    assert stores.forwarding_queue.counts() == []


def test_an_alert_older_than_max_age_is_not_forwarded(make_site, receiver):
    state, url = receiver
    site = make_site({"webhooks": [webhook(url)], "forward_within_s": 1800})
    site.enrol("ada", "Ada")
    site.match("ada", seconds=-3600)  # over an hour old: e.g. the bus's history when forwarding is first enabled
    fresh = site.match("ada")  # about ten minutes old
    _run(site, lambda: False, timeout_s=2.0)
    assert list(state.handled) == [f"candidate-{fresh.event_id}"]


def test_forwarding_serve_runs_as_a_process_and_stops_cleanly_on_sigterm(make_site, receiver):
    import os
    import signal
    import subprocess
    import sys

    state, url = receiver
    site = make_site({"webhooks": [webhook(url)]})
    site.enrol("ada", "Ada")
    event = site.match("ada")
    proc = subprocess.Popen([sys.executable, "-m", "facetrail.cli.main", "forwarding", "serve", "-c", site.stores.config_path],
                            env={**os.environ, "PYTHONWARNINGS": "ignore"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        state.wait_for(1, timeout_s=60)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert list(state.handled) == [f"candidate-{event.event_id}"]
    assert proc.returncode == 0, stderr
    assert SECRET not in stderr


def test_a_settled_review_is_announced_on_the_decisions_topic_as_its_schema_says(make_site):
    from facetrail.bus.channels import DECISIONS
    from tests.event_contract import violations

    site = make_site({}, review={"reviewers_required": 2})
    site.enrol("ada", "Ada")
    event = site.match("ada")
    desk = ReviewDesk(site.stores.db, site.stores.audit, 2, bus=site.stores.bus)
    desk.decide(event.event_id, "rita", "confirm")
    assert site.stores.bus.messages(DECISIONS.name) == []  # one of two confirmations settles nothing
    desk.decide(event.event_id, "sam", "confirm")
    [record] = site.stores.bus.messages(DECISIONS.name)
    assert violations(DECISIONS.name, record.value) == [] and record.key == "ada"
    assert DECISIONS.decode(record.value).status == "confirmed"


def test_a_batch_that_fails_part_way_is_taken_up_again_not_skipped(make_site, receiver, monkeypatch):
    from facetrail.bus.channels import ALERTS as ALERTS_CHANNEL
    from facetrail.storage.forwarding_store import ForwardingQueue

    state, url = receiver
    site = make_site({"webhooks": [webhook(url)]})
    site.enrol("ada", "Ada")
    event = site.match("ada")
    forwarding = site.stores.forwarding()
    [intake] = [i for i in forwarding.open_intakes() if i.channel == ALERTS_CHANNEL.name]
    real_enqueue = ForwardingQueue.enqueue
    monkeypatch.setattr(ForwardingQueue, "enqueue", lambda self, deliveries: (_ for _ in ()).throw(OSError("db away")))
    try:
        intake.step(timeout_s=1.0)
    except OSError:
        pass
    monkeypatch.setattr(ForwardingQueue, "enqueue", real_enqueue)
    assert intake.step(timeout_s=0.1) == 1  # the same alert again, not the next poll's nothing
    assert [d.event_id for d in site.stores.forwarding_queue.claim_due("vms", lease_s=0)] == [event.event_id]
    for each in forwarding.intakes:
        each.close()
