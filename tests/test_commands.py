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


def test_the_last_seed_to_a_voice_wins_within_one_iteration():
    from livernn.osc import Command

    batch = [
        Command("seed", "X:1\n", 1), Command("prime", "abc", 1), Command("tempo", 90.0),
        Command("seed", "X:2\n", 1), Command("seed", "X:3\n", 0), Command("prime", "d", 0),
        Command("prime", "e", 0), Command("seed", "X:4\n", None), Command("prime", "f", 1),
    ]  # fmt: skip
    kept = commands.coalesce(batch)
    assert kept == [
        Command("tempo", 90.0),
        Command("seed", "X:4\n", None),
        Command("prime", "f", 1),
    ]
    # a later seed to one voice does not cancel an earlier seed to every voice
    assert commands.coalesce([Command("seed", "A", None), Command("seed", "B", 0)]) == [
        Command("seed", "A", None), Command("seed", "B", 0),
    ]  # fmt: skip


def test_a_seed_storm_plays_exactly_what_the_last_seed_plays():
    """Fifty seeds to voice 2 in one iteration cost one reseed, and the notes are those of
    the last seed alone (fake clock, scripted model)."""
    from livernn.clock import FakeClock
    from livernn.config import EngineConfig, VoiceConfig
    from livernn.engine import Engine
    from livernn.osc import Command
    from tests.support.recording import RecordingOutput
    from tests.support.scripted import ScriptedModel

    tune = "X:1\nT:S\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|"

    def play(seeds: list[str]) -> tuple[list[tuple[float, int]], int]:
        rec = RecordingOutput()
        clock = FakeClock(100.0)
        vcs = (
            VoiceConfig(rng_seed=0, temperature=0.05),
            VoiceConfig(channel=2, rng_seed=1, temperature=0.05),
        )
        model = ScriptedModel([tune, tune])
        resets = []
        reset = model.reset
        model.reset = lambda voice=None: (resets.append(voice), reset(voice))  # type: ignore[method-assign]
        eng = Engine(model, [rec], EngineConfig(voices=vcs), clock=clock)
        eng.run_until(clock.now() + 1.0)
        resets.clear()
        for s in seeds:
            assert eng.submit(Command("seed", s, 1))
        eng.run_until(clock.now() + 3.0)
        eng.close()
        return [(round(n.t, 6), n.pitch) for n in rec.notes() if n.voice == 1], len(resets)

    last = "X:9\nT:L\nM:4/4\nL:1/8\nK:G\nGABc dedc|"
    storm = [f"X:{i}\nT:x\nM:3/4\nL:1/8\nK:C\nCDE FGA|" for i in range(49)] + [last]
    notes, resets = play(storm)
    assert (notes, resets) == play([last])
    assert resets == 1 and notes


def test_a_refused_prime_changes_no_voice():
    """Refused for voice 2 (its buffer full), a prime to every voice used to be applied to
    voice 1 already."""
    from livernn.clock import FakeClock
    from livernn.config import EngineConfig, VoiceConfig
    from livernn.engine import Engine
    from livernn.limits import MAX_PRIMED
    from livernn.osc import Command
    from tests.support.recording import RecordingOutput
    from tests.support.scripted import ScriptedModel

    tune = "X:1\nT:S\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|"
    vcs = (VoiceConfig(), VoiceConfig(channel=2))
    eng = Engine(
        ScriptedModel([tune, tune]), [RecordingOutput()],
        EngineConfig(voices=vcs, autostart=False), clock=FakeClock(0.0),
    )  # fmt: skip
    eng.voices[1].forced.extend("a" * MAX_PRIMED)
    before = [len(v.forced) for v in eng.voices]
    assert eng.apply(Command("prime", "abc|")) == "too much primed text waiting"
    assert [len(v.forced) for v in eng.voices] == before


def test_seeds_faster_than_the_budget_wait_and_the_latest_is_played():
    """100 seeds a second to a voice for 2 s: at most 20 reseeds a second (plus the burst),
    and the last seed sent is the one playing soon after."""
    from livernn.clock import FakeClock
    from livernn.config import EngineConfig, VoiceConfig
    from livernn.engine import Engine
    from livernn.osc import Command
    from tests.support.recording import RecordingOutput
    from tests.support.scripted import ScriptedModel

    tune = "X:1\nT:S\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|"
    model = ScriptedModel([tune])
    resets = []
    reset = model.reset
    model.reset = lambda voice=None: (resets.append(voice), reset(voice))  # type: ignore[method-assign]
    clock = FakeClock(0.0)
    eng = Engine(model, [RecordingOutput()], EngineConfig(voices=(VoiceConfig(),)), clock=clock)
    eng.run_until(1.0)
    resets.clear()
    for i in range(200):
        eng.submit(Command("seed", f"X:{i}\nK:D\n"))
        eng.run_until(clock.now() + 0.01)
    assert len(resets) <= 20 * 2 + 5 + 1
    eng.run_until(clock.now() + 0.2)
    assert eng.voices[0].seed == "X:199\nK:D\n" and eng.voices[0].deferred_seed is None
