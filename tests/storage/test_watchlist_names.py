"""One person, one entry per watch-list: names are compared after NFKC, case folding and whitespace collapsing, and
the database's unique index holds the rule even against concurrent enrolments."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
from alembic import command
from sqlalchemy import create_engine, text

from facetrail.names import name_key
from facetrail.storage.database import Database
from facetrail.storage.migrate import alembic_config, current_revision, head_revision
from facetrail.storage.watchlist_store import EntryExists, WatchlistStore

from tests.storage.conftest import make_record

SAME_AS_JOE_BIDEN = ["Joe Biden ", "joe biden", "JOE  BIDEN", "Joe\u00a0Biden", "\uff2aoe Biden", " joe\tbiden"]


def _add(store: WatchlistStore, entry_id: str, name: str, watchlist: str = "default") -> None:
    record = replace(make_record(entry_id, name), watchlist=watchlist)
    store.add(record, np.ones((1, 128), np.float32), [None], model="dlib-resnet-v1")


def test_names_that_differ_only_in_case_width_accents_composition_or_spaces_share_a_key():
    assert len({name_key(n) for n in ["Joe Biden", *SAME_AS_JOE_BIDEN]}) == 1
    assert name_key("Bide\u0301n") == name_key("Bid\u00e9n") != name_key("Biden")  # NFD and NFC are one name


@pytest.mark.parametrize("variant", SAME_AS_JOE_BIDEN + ["Joe Bide\u0301n"])
def test_a_second_entry_of_the_same_name_on_one_list_is_refused(db, variant):
    store = WatchlistStore(db)
    _add(store, "first", "Joe Bid\u00e9n" if "\u0301" in variant else "Joe Biden")
    with pytest.raises(EntryExists):
        _add(store, "second", variant)
    assert [r.entry_id for r in store.records()] == ["first"]


def test_the_same_person_on_another_list_is_allowed(db):
    store = WatchlistStore(db)
    _add(store, "first", "Joe Biden")
    _add(store, "second", "joe biden", watchlist="visitors")
    assert len(store.records()) == 2
    assert {r.entry_id for r in store.find_by_name("JOE BIDEN ")} == {"first", "second"}


def test_concurrent_enrolments_of_one_name_store_exactly_one(db):
    store, outcomes, start = WatchlistStore(db), [], threading.Barrier(6)

    def enrol(i: int) -> None:
        start.wait()
        try:
            _add(store, f"e{i}", ["Joe Biden", "joe biden", "Joe Biden ", "JOE BIDEN", "Joe\u00a0Biden", "joe  biden"][i])
            outcomes.append("stored")
        except EntryExists:
            outcomes.append("exists")

    threads = [threading.Thread(target=enrol, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["exists"] * 5 + ["stored"]
    assert len(store.records()) == 1


def test_an_older_database_with_duplicate_names_is_migrated_keeping_every_entry(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        for entry_id, name in (("a", "Joe Biden"), ("b", "joe biden "), ("c", "Ada")):
            connection.execute(text(
                "INSERT INTO watchlist_entries (entry_id, display_name, watchlist, legal_basis, image_source, enrolled_by,"
                " created_at, expires_at) VALUES (:id, :name, 'default', 'b', 's', 'e', '2026-01-01', '2026-02-01')"),
                {"id": entry_id, "name": name})
    engine.dispose()
    db = Database(url)
    store = WatchlistStore(db)
    assert current_revision(db.engine) == head_revision()
    assert sorted(r.entry_id for r in store.records()) == ["a", "b", "c"]  # kept: an operator erases the duplicate
    with pytest.raises(EntryExists):
        _add(store, "d", "JOE BIDEN")
    with pytest.raises(EntryExists):
        _add(store, "e", "ada")
    db.dispose()
