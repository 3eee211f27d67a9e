"""The command table: one handler per OSC address, checked both ways."""

from __future__ import annotations

import pytest

from livernn.engine import commands
from livernn.errors import LivernnError
from livernn.osc import ADDRESSES


def test_every_address_has_exactly_one_handler():
    commands.check_table()
    assert set(commands.HANDLERS) == {a.name for a in ADDRESSES.values()}


def test_a_handler_without_an_address_is_refused(monkeypatch):
    monkeypatch.setitem(commands.HANDLERS, "frobnicate", lambda engine, cmd, targets: None)
    with pytest.raises(LivernnError, match="no address for \\['frobnicate'\\]"):
        commands.check_table()


def test_an_address_without_a_handler_is_refused(monkeypatch):
    monkeypatch.delitem(commands.HANDLERS, "tempo")
    with pytest.raises(LivernnError, match="no handler for \\['tempo'\\]"):
        commands.check_table()
