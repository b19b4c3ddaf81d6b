"""Inserting many rows at once, by the fastest means the database offers.

On PostgreSQL (psycopg) a COPY streams the rows in one statement; psycopg's
executemany, even pipelined, costs tens of microseconds a row in Python, which
was most of the trajectory service's database time. Elsewhere (SQLite) Core's
executemany is already one prepared statement run per row in C.
"""

from __future__ import annotations

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """INSERT ``rows`` (dicts by column name, all with the same keys) in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    # The columns' own bind processing (e.g. aware UTC to naive UTC) applies, as it would through Core.
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in names]
    columns = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in names)
    table_name = connection.dialect.identifier_preparer.format_table(table)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table_name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([value if p is None else p(value) for p, value in zip(processors, (row[n] for n in names))])
