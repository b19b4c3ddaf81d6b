"""PostgreSQL plans of the hot statements stay index probes when the planner takes a full table for an empty one.

ANALYZE of a table that was emptied (retention, a purge) records no rows while the table keeps its pages;
until the next ANALYZE the planner takes it for one row however full it gets again, and a join with it
becomes a scan of the whole table a statement. Each test puts a private copy of track_visits in that state
(a temporary table of the same name, which the session's search path finds first) and reads the plan.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from facetrail.storage.bulk import _unnest_update, row_per_key
from facetrail.storage.models import VisitRow
from tests.storage.conftest import _postgres_url, connect

_VISITS = VisitRow.__table__
_FILL = ("INSERT INTO track_visits SELECT 't' || (i % 200), i / 200, 'cam-' || (i % 20), now(), now(), 0.5, 1, "
         "true, NULL FROM generate_series(0, 19999) AS i")


@pytest.fixture
def stale_visits():
    """A session whose track_visits holds 20,000 rows that the planner's statistics say are none."""
    db = connect(_postgres_url())
    with db.session() as session, session.begin():
        session.execute(text("CREATE TEMPORARY TABLE track_visits (LIKE public.track_visits INCLUDING ALL) "
                             "ON COMMIT DROP"))
        session.execute(text(_FILL))
        session.execute(text("DELETE FROM track_visits"))
        session.execute(text("ANALYZE track_visits"))
        session.execute(text(_FILL))
        yield session
        session.rollback()
    db.dispose()


def _scans(plan: dict) -> list[dict]:
    """Every node of the plan that reads track_visits."""
    own = [plan] if plan.get("Relation Name") == "track_visits" and "Scan" in plan["Node Type"] else []
    return own + [node for child in plan.get("Plans", []) for node in _scans(child)]


def _cursor(session):
    return session.connection().connection.driver_connection.cursor()


def _unbounded_scans(session, sql: str, params) -> list[str]:
    """The plan's reads of track_visits that are not bounded by a key: whole-table scans."""
    cursor = _cursor(session)
    cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
    [[plan]] = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return [node["Node Type"] for node in _scans(plan["Plan"])
            if not {"Index Cond", "TID Cond"} & set(node)]


def test_the_stale_statistics_make_plain_joins_with_the_table_scan_all_of_it(stale_visits):
    """The state the other tests plan in: without it they would prove nothing."""
    joined = ("SELECT v.* FROM track_visits v JOIN (SELECT track_id, max(seq) AS seq FROM track_visits "
              "WHERE track_id = ANY(%s) GROUP BY track_id) m ON v.track_id = m.track_id AND v.seq = m.seq")
    updated = ("UPDATE track_visits t SET best_score = v.best_score FROM unnest(%s::text[], %s::int4[], %s::float8[]) "
               "AS v(track_id, seq, best_score) WHERE t.track_id = v.track_id AND t.seq = v.seq")
    assert _unbounded_scans(stale_visits, joined, [["t1", "t2"]])
    assert _unbounded_scans(stale_visits, updated, [["t1", "t2"], [5, 6], [0.75, 0.25]])


def test_reading_each_track_s_last_visit_probes_the_index_a_track(stale_visits):
    query = row_per_key(_VISITS, "track_id", ["t1", "t2"], stale_visits.get_bind().dialect, latest_by="seq")
    compiled = query.compile(dialect=stale_visits.get_bind().dialect)
    assert _unbounded_scans(stale_visits, compiled.string, compiled.params) == []
    assert [(r.track_id, r.seq) for r in stale_visits.execute(query)] == [("t1", 99), ("t2", 99)]


def test_updating_visits_by_key_probes_the_index_a_row(stale_visits):
    dialect = stale_visits.get_bind().dialect
    sql = _unnest_update(dialect, _VISITS, ("track_id", "seq"), ("best_score",), ("text", "int4", "float8"))
    arrays = [["t1", "t2"], [5, 6], [0.75, 0.25]]
    assert _unbounded_scans(stale_visits, sql, arrays) == []
    cursor = _cursor(stale_visits)
    cursor.execute(sql, arrays)
    assert cursor.rowcount == 2
    cursor.execute("SELECT track_id, seq, best_score FROM track_visits WHERE best_score <> 0.5 ORDER BY track_id")
    assert cursor.fetchall() == [("t1", 5, 0.75), ("t2", 6, 0.25)]
