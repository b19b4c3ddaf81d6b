"""There is always an enabled admin: the last one can be neither disabled nor removed, even by two admins acting at
once; `facetrail users enable` and `disable` recover and lock accounts from the command line."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from facetrail.auth.accounts import AccountError, Accounts
from facetrail.storage.user_store import UserStore

PASSWORD = "correct horse battery staple"


@pytest.fixture
def accounts(db):
    accounts = Accounts(UserStore(db))
    for name in ("admin1", "admin2"):
        accounts.create_user(name, "admin", PASSWORD)
    accounts.create_user("oper", "operator", PASSWORD)
    return accounts


def _enabled_admins(accounts: Accounts) -> list[str]:
    return [u.username for u in accounts.users() if u.role == "admin" and not u.disabled]


def test_the_last_enabled_admin_cannot_be_disabled(accounts):
    accounts.set_disabled("admin1", True)
    with pytest.raises(AccountError, match="last enabled admin"):
        accounts.set_disabled("admin2", True)
    assert _enabled_admins(accounts) == ["admin2"]


def test_the_last_enabled_admin_cannot_be_removed(accounts):
    assert accounts.remove_user("admin1")
    with pytest.raises(AccountError, match="last enabled admin"):
        accounts.remove_user("admin2")
    assert _enabled_admins(accounts) == ["admin2"]


def test_two_admins_disabling_each_other_at_once_leave_one_enabled(accounts):
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def disable(name: str) -> None:
        start.wait()
        try:
            accounts.set_disabled(name, True)
            outcomes.append("done")
        except AccountError:
            outcomes.append("refused")

    threads = [threading.Thread(target=disable, args=(n,)) for n in ("admin1", "admin2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["done", "refused"]
    assert len(_enabled_admins(accounts)) == 1


def test_other_users_are_disabled_and_removed_as_before(accounts):
    assert accounts.set_disabled("oper", True)
    assert accounts.remove_user("oper")
    assert not accounts.remove_user("nobody")


def _facetrail(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facetrail.cli.main", *args], capture_output=True, text=True)


def test_users_disable_and_enable_from_the_command_line(tmp_path, db):
    config = tmp_path / "facetrail.yaml"
    config.write_text('database: {url: "sqlite:///facetrail.db"}\nbus: {kind: sqlite, path: bus.db}\nobjects: {kind: local, path: o}\n')
    accounts = Accounts(UserStore(db))
    accounts.create_user("admin1", "admin", PASSWORD)
    accounts.create_user("oper", "operator", PASSWORD)
    disabled = _facetrail("users", "disable", "oper", "-c", str(config))
    assert disabled.returncode == 0, disabled.stderr
    assert accounts.login("oper", PASSWORD) is None
    enabled = _facetrail("users", "enable", "oper", "-c", str(config))
    assert enabled.returncode == 0 and "enabled oper" in enabled.stdout
    assert accounts.login("oper", PASSWORD) is not None
    last = _facetrail("users", "remove", "admin1", "-c", str(config))
    assert last.returncode == 1 and "last enabled admin" in last.stderr and "Traceback" not in last.stderr
