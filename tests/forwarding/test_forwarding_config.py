"""Forwarding's config: nothing by default, secrets only by environment variable name, errors naming the field."""

from __future__ import annotations

import pytest

from facetrail.config import ConfigError, load_config
from facetrail.stores import Stores

HOOK = """
forwarding:
  webhooks:
    - name: vms
      url: https://vms.example/hooks
      secret_env: [FT_TEST_HOOK_SECRET]
      watchlists: [default]
"""


def test_nothing_is_forwarded_by_default(write_config):
    stores = Stores(load_config(write_config("site: hq\n")))
    assert not stores.config.forwarding.enabled and stores.forwarding() is None


def test_a_secret_written_into_the_config_is_refused(write_config):
    with pytest.raises(ConfigError, match=r"forwarding\.webhooks\.0\.secret_env") as refused:
        load_config(write_config(HOOK.replace("[FT_TEST_HOOK_SECRET]", "[s3cr3t-value]")))
    assert "environment variable" in str(refused.value)


def test_a_webhook_without_watch_lists_is_refused(write_config):
    with pytest.raises(ConfigError, match=r"forwarding\.webhooks\.0\.watchlists"):
        load_config(write_config(HOOK.replace("      watchlists: [default]\n", "")))


def test_an_unknown_event_kind_is_refused(write_config):
    with pytest.raises(ConfigError, match=r"forwarding\.webhooks\.0\.events"):
        load_config(write_config(HOOK + "      events: [candidate, everything]\n"))


def test_two_webhooks_with_one_name_are_refused(write_config):
    second = HOOK.split("webhooks:\n")[1]
    with pytest.raises(ConfigError, match="used twice"):
        load_config(write_config(HOOK + second))


def test_a_missing_secret_variable_is_named_at_start(write_config, tmp_path, monkeypatch):
    monkeypatch.delenv("FT_TEST_HOOK_SECRET", raising=False)
    text = HOOK + f"database: {{url: 'sqlite:///{tmp_path}/db.sqlite'}}\nbus: {{kind: sqlite, path: {tmp_path}/bus.db}}\n"
    stores = Stores(load_config(write_config(text)))
    with pytest.raises(ConfigError, match=r"forwarding\.webhooks\.0\.secret_env: environment variable FT_TEST_HOOK_SECRET"):
        stores.forwarding()
