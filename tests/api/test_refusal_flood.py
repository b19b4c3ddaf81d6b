"""A flood of refused requests is accounted for without flooding the permanent audit log: the first refusal of a
client on a route is recorded at once, the repeats within the window as one row with their count."""

from __future__ import annotations

from facetrail.api.refusals import RefusalTally
from facetrail.audit.log import AuditLog


def _rows(world, action: str) -> list:
    return [r for r in AuditLog(world.db).records() if r.action == action]


def test_three_hundred_anonymous_refusals_add_two_rows_that_count_them_all(client, world):
    before = AuditLog(world.db).count()
    for _ in range(300):
        assert client.get("/api/v1/people").status_code == 401
    assert AuditLog(world.db).count() - before == 1
    client.app.state.ctx.refusals.flush(everything=True)
    [first] = _rows(world, "access.refused")
    [repeated] = _rows(world, "access.refused.repeated")
    assert (first.actor, first.subject, first.details["status"]) == ("anonymous", "/api/v1/people", 401)
    assert (repeated.actor, repeated.subject, repeated.details["count"]) == ("anonymous", "/api/v1/people", 299)
    assert AuditLog(world.db).verify().ok


def test_a_refusal_on_another_route_or_by_another_user_is_recorded_at_once(client, world, as_role):
    for _ in range(20):
        client.get("/api/v1/people")
    client.get("/api/v1/users", headers=as_role["operator"])
    client.get("/api/v1/audit")
    refused = [(r.actor, r.subject) for r in _rows(world, "access.refused")]
    assert refused == [("anonymous", "/api/v1/people"), ("operator1", "/api/v1/users"), ("anonymous", "/api/v1/audit")]


def test_logins_refused_on_a_locked_account_are_counted_in_one_row(client, world):
    for _ in range(5):
        client.post("/api/v1/login", json={"username": "auditor1", "password": "wrong password entirely"})
    for _ in range(50):
        assert client.post("/api/v1/login", json={"username": "auditor1", "password": "x"}).status_code == 429
    client.app.state.ctx.refusals.flush(everything=True)
    assert len(_rows(world, "login.throttled")) == 1
    [repeated] = _rows(world, "login.throttled.repeated")
    assert repeated.details["count"] == 49 and repeated.subject == "auditor1"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_window_that_has_ended_is_written_when_the_next_refusal_comes(world):
    audit, clock = AuditLog(world.db), Clock()
    tally = RefusalTally(audit, window_s=60, clock=clock)
    for _ in range(3):
        tally.refused("anonymous", "access.refused", "/api/v1/people", {"client": "10.0.0.9", "status": 401})
    clock.now = 61
    tally.refused("anonymous", "access.refused", "/api/v1/people", {"client": "10.0.0.9", "status": 401})
    actions = [r.action for r in audit.records()]
    assert actions == ["access.refused", "access.refused.repeated", "access.refused"]
    assert audit.records()[1].details["count"] == 2


def test_the_tally_holds_a_bounded_number_of_open_windows(world):
    audit = AuditLog(world.db)
    tally = RefusalTally(audit, window_s=60, clock=Clock(), max_windows=10)
    for i in range(50):
        tally.refused("anonymous", "access.refused", "/api/v1/people", {"client": f"10.0.0.{i}", "status": 401})
    assert tally.open_windows <= 11
    tally.flush(everything=True)
    counted = sum(1 for r in audit.records() if r.action == "access.refused") + \
        sum(r.details["count"] for r in audit.records() if r.action == "access.refused.repeated")
    assert counted == 50
