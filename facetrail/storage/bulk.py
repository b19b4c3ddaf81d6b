"""Bulk statements by the fastest means the database offers.

On PostgreSQL (psycopg) a COPY streams the rows in one statement; psycopg's
executemany, even pipelined, costs tens of microseconds a row in Python, which
was most of the trajectory service's database time. Elsewhere (SQLite) Core's
executemany is already one prepared statement run per row in C.

Rows are tuples in the order of the column names given: building a dict a row
and looking each value up by name again cost more than the COPY itself.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, String, Table, any_, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from facetrail.storage.models import UtcDateTime


def _naive_utc(value: datetime | None) -> datetime | None:
    """UtcDateTime's bind processing in one call (SQLAlchemy's wrapper costs three)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _processor(column, dialect: Dialect) -> Callable[[Any], Any] | None:
    if isinstance(column.type, UtcDateTime):
        return _naive_utc
    return column.type.bind_processor(dialect)


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """INSERT ``rows`` (tuples of values in the order of ``columns``) in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg":
        session.execute(insert(table), [dict(zip(columns, row)) for row in rows])
        return
    # The columns' own bind processing (e.g. aware UTC to naive UTC) applies, as it would through Core.
    processed = [(i, p) for i, p in enumerate(_processor(table.c[name], connection.dialect) for name in columns) if p]
    quoted = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in columns)
    table_name = connection.dialect.identifier_preparer.format_table(table)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table_name} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            if processed:
                row = list(row)
                for i, process in processed:
                    row[i] = process(row[i])
            copy.write_row(row)


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
