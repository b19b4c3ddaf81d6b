"""`facetrail users add|list|remove` through the real command line."""

from __future__ import annotations

import subprocess
import sys

from facetrail.auth.accounts import Accounts
from facetrail.config import load_config
from facetrail.storage.database import Database
from facetrail.storage.user_store import UserStore

PASSWORD = "correct horse battery staple"


def _facetrail(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facetrail.cli.main", *args], input=stdin, capture_output=True, text=True)


def _config(tmp_path):
    path = tmp_path / "facetrail.yaml"
    path.write_text('database: {url: "sqlite:///facetrail.db"}\nbus: {kind: sqlite, path: bus.db}\nobjects: {kind: local, path: ev}\n')
    return path


def test_a_user_added_with_password_stdin_can_log_in(tmp_path):
    config = _config(tmp_path)
    added = _facetrail("users", "add", "ana", "-c", str(config), "--role", "auditor", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "created ana (auditor)" in added.stdout
    db = Database(load_config(config).database.url)
    assert Accounts(UserStore(db)).login("ana", PASSWORD).role == "auditor"
    db.dispose()


def test_a_weak_password_is_one_clear_error_line(tmp_path):
    result = _facetrail("users", "add", "ana", "-c", str(_config(tmp_path)), "--role", "admin", "--password-stdin", stdin="abc\n")
    assert result.returncode == 1 and "at least 12 characters" in result.stderr and "Traceback" not in result.stderr


def test_users_are_listed_and_removed(tmp_path):
    config = str(_config(tmp_path))
    _facetrail("users", "add", "ana", "-c", config, "--role", "operator", "--password-stdin", stdin=PASSWORD + "\n")
    assert "ana" in _facetrail("users", "list", "-c", config).stdout
    assert _facetrail("users", "remove", "ana", "-c", config).returncode == 0
    assert "no users" in _facetrail("users", "list", "-c", config).stdout


def test_the_api_refuses_a_non_loopback_host(tmp_path):
    result = _facetrail("api", "-c", str(_config(tmp_path)), "--host", "0.0.0.0")
    assert result.returncode == 1 and "loopback" in result.stderr
