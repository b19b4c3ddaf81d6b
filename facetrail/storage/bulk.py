"""Bulk statements by the fastest means the database offers.

On PostgreSQL (psycopg) a binary COPY streams new rows in one statement, one
UPDATE joining arrays changes known rows, and a list of keys is one array
parameter; psycopg's executemany, even pipelined, costs tens of microseconds a
row in Python, which was most of the trajectory service's database time.
Elsewhere (SQLite) Core's executemany is already one prepared statement run per
row in C, and IN lists stay.

Rows are tuples in the order of the column names given: building a dict a row
and looking each value up by name again cost more than the COPY itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import (ARRAY, BigInteger, Boolean, Column, ColumnElement, Float, Integer, Select, SmallInteger,
                        String, Table, any_, bindparam, delete, func, insert, select, true, update)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from facetrail.storage.models import UtcDateTime


# The PostgreSQL type each column's values are sent as in a binary COPY (the first kind that matches).
# UtcDateTime columns are timestamp without time zone holding naive UTC; a timestamptz in binary is the
# same int64 (microseconds since 2000-01-01) counted in UTC, so psycopg's C dumper of an aware datetime
# sends exactly the naive UTC value that UtcDateTime would bind, whatever its offset (a naive datetime
# is refused with a TypeError, as UtcDateTime refuses it).
# A column whose type is sent in a size the table does not have fails the COPY loudly, never silently.
_COPY_TYPES = ((UtcDateTime, "timestamptz"), (Boolean, "bool"), (BigInteger, "int8"), (SmallInteger, "int2"),
               (Integer, "int4"), (Float, "float8"), (String, "text"))


def _copy_type(column: Column) -> str:
    for kind, name in _COPY_TYPES:
        if isinstance(column.type, kind):
            return name
    raise TypeError(f"insert_rows cannot COPY column {column} of type {column.type}")


def _on_psycopg(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """INSERT ``rows`` (tuples of values in the order of ``columns``) in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if not _on_psycopg(connection):
        session.execute(insert(table), [dict(zip(columns, row)) for row in rows])
        return
    # Binary, with every column's type given: psycopg then writes each value in C (about 0.5 us a row,
    # against 6-7 us for the text format, which looks up a dumper per value, plus 3 us for converting
    # times to naive UTC in Python first).
    quoted = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in columns)
    table_name = connection.dialect.identifier_preparer.format_table(table)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table_name} ({quoted}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([_copy_type(table.c[name]) for name in columns])
        for row in rows:
            copy.write_row(row)


def update_rows(session: Session, table: Table, keys: Sequence[str], columns: Sequence[str],
                rows: Sequence[Sequence]) -> int:
    """UPDATE the rows matching each row's first values (``keys``), setting ``columns`` to the values after them.

    Returns how many rows it changed: fewer than given when some are no longer stored.
    """
    if not rows:
        return 0
    connection = session.connection()
    if not _on_psycopg(connection):
        where = [table.c[key] == bindparam(f"key_{key}") for key in keys]  # Core reserves column names for SET
        return session.execute(update(table).where(*where), [
            {**{f"key_{k}": v for k, v in zip(keys, row)}, **dict(zip(columns, row[len(keys):]))} for row in rows]
        ).rowcount
    types = [_copy_type(table.c[name]) for name in (*keys, *columns)]
    arrays = [list(values) for values in zip(*rows)]
    for kind, values in zip(types, arrays):
        if kind == "timestamptz" and any(v is not None and v.tzinfo is None for v in values):
            raise ValueError("naive datetime given to a UTC column")  # as UtcDateTime refuses it
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute(_unnest_update(connection.dialect, table, keys, columns, types), arrays)
    return cursor.rowcount


def _unnest_update(dialect: Dialect, table: Table, keys: Sequence[str], columns: Sequence[str],
                   types: Sequence[str]) -> str:
    """One UPDATE joining one array parameter a column (unnest zips them), in the order keys, columns.

    It replaces an executemany of a statement a row (tens of microseconds each in psycopg). The arrays go
    in binary (%b): psycopg quotes every element of a text array through a regular expression, 14 us a
    row of sightings against 3. UTC times arrive as timestamptz; AT TIME ZONE 'UTC' makes them the naive
    UTC that UtcDateTime stores, whatever the session's time zone.
    """
    quote = dialect.identifier_preparer.quote
    names = [quote(name) for name in (*keys, *columns)]
    sets = ", ".join(f"{name} = v.{name}" + (" AT TIME ZONE 'UTC'" if kind == "timestamptz" else "")
                     for name, kind in zip(names[len(keys):], types[len(keys):]))
    match = " AND ".join(f"x.{name} = v.{name}" for name in names[:len(keys)])
    arrays = ", ".join(f"%b::{kind}[]" for kind in types)
    table_name = dialect.identifier_preparer.format_table(table)
    # Each row is found by one LATERAL probe of its key and then updated by its ctid: a plain join of the
    # table and the arrays was planned as a scan of the whole table once its statistics had seen it empty
    # (row_per_key). FOR UPDATE keeps the found row where it is until the transaction ends; a row changed
    # meanwhile by another transaction is not updated and not counted (the caller sees the shortfall).
    return (f"UPDATE {table_name} AS t SET {sets} FROM (SELECT v.*, found.row_ctid FROM unnest({arrays}) "
            f"AS v({', '.join(names)}) CROSS JOIN LATERAL (SELECT x.ctid AS row_ctid FROM {table_name} AS x "
            f"WHERE {match} FOR UPDATE) AS found) AS v WHERE t.ctid = v.row_ctid")


def among(column: ColumnElement, values: Collection[str], dialect: Dialect) -> ColumnElement[bool]:
    """``column IN values`` for string keys; on PostgreSQL one array parameter (``= ANY``).

    An IN list of a few thousand ids is as many bound parameters, which SQLAlchemy renders into the
    statement and psycopg parses again, every time (a tenth of the trajectory service's time); an
    array is one parameter and the same short statement each call.
    """
    if dialect.name != "postgresql":
        return column.in_(values)
    # Unbounded VARCHAR: a cast to the column's VARCHAR(n) would truncate a longer value into a match.
    return column == any_(bindparam(None, list(values), type_=ARRAY(String())))


_DELETE_CHUNK = 500  # keys a statement: SQLite's IN lists are bound parameters, and it caps their number


def delete_among(session: Session, column: Column, keys: Sequence[str]) -> None:
    """DELETE the rows of ``column``'s table whose ``column`` is among ``keys``, in the session's transaction.

    By key, never through a join or subquery: PostgreSQL planned ``IN (SELECT ...)`` as a scan of the whole
    table once the statistics had seen it empty (see row_per_key).
    """
    dialect = session.get_bind().dialect
    for start in range(0, len(keys), _DELETE_CHUNK):
        session.execute(delete(column.table).where(among(column, keys[start:start + _DELETE_CHUNK], dialect)))


def row_per_key(table: Table, key: str, keys: Collection[str], dialect: Dialect, latest_by: str | None = None) -> Select:
    """The row of each of ``keys`` (its ``key`` column's value), in one query; where several rows share a key,
    the one with the greatest ``latest_by``.

    On PostgreSQL each key is one LATERAL probe (LIMIT 1, which keeps the planner from flattening it into a
    join), so the plan is an index probe a key whatever the planner's statistics say. Once ANALYZE had
    seen a table empty and it had refilled since (emptied by retention, then a burst of sightings), the
    planner took it for one row: a join on max() became a scan of the whole table a call (0.9 s at 40,000
    visits) and ``= ANY`` of a batch's ids a sequential scan. Elsewhere (SQLite) plain IN lists and a
    join on max() do.
    """
    if dialect.name != "postgresql":
        if latest_by is None:
            return select(table).where(among(table.c[key], keys, dialect))
        latest = (select(table.c[key], func.max(table.c[latest_by]).label(latest_by))
                  .where(among(table.c[key], keys, dialect)).group_by(table.c[key]).subquery())
        return select(table).join(latest, (table.c[key] == latest.c[key]) & (table.c[latest_by] == latest.c[latest_by]))
    wanted = func.unnest(bindparam(None, list(keys), type_=ARRAY(String()))).table_valued(key).render_derived("wanted")
    probe = select(table).where(table.c[key] == wanted.c[key])
    if latest_by is not None:
        probe = probe.order_by(table.c[latest_by].desc())
    found = probe.limit(1).lateral("found")
    return select(found).select_from(wanted).join(found, true())
