"""The command table: one small handler per OSC address, looked up by the address's name.

Adding an address is one row in ``livernn.osc.ADDRESSES`` (its arguments and ranges) plus one
function here decorated with ``@handles("name")``; ``check_table`` (run at import and in the
tests) refuses an address without a handler or a handler without an address. A handler gets
the engine, the validated command and its target voices, and returns an error reason or
None; it validates everything for every target before it changes anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from livernn.engine import fork, sync
from livernn.errors import LivernnError
from livernn.limits import MAX_PRIMED
from livernn.osc import ADDRESSES, Command

if TYPE_CHECKING:
    from livernn.engine.core import Engine
    from livernn.engine.voice import Voice

log = logging.getLogger(__name__)

Handler = Callable[["Engine", Command, "list[Voice]"], "str | None"]
HANDLERS: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = fn
        return fn

    return register


#: controls a performer must hear at once: they cut a repeat being replayed (``follow``)
FOLLOWED = frozenset({"temperature", "top_k", "top_p", "rng_seed", "constrain", "key", "meter"})


def apply(engine: Engine, cmd: Command) -> str | None:
    """Apply one validated command now; an error reason or None."""
    handler = HANDLERS.get(cmd.name)
    if handler is None:
        return f"unknown command {cmd.name}"
    targets = engine.voices if cmd.voice is None else [engine.voices[cmd.voice]]
    err = handler(engine, cmd, targets)
    if err is None and cmd.name in FOLLOWED and engine.config.follow_repeats:
        follow(engine, targets)
    return err


def follow(engine: Engine, targets: list[Voice]) -> None:
    """A voice that has written far past the lookahead (a ``:|`` section being replayed)
    stops its scheduled music at its next bar line; what it writes next (under the new
    control) plays from there. The text is not touched: the model goes on from where it
    was, the replay is cut short."""
    horizon = engine._horizon(engine.clock.now())
    for v in targets:
        ahead = v.write_beat()
        if not v.running or ahead <= horizon:
            continue
        at = fork.next_bar(engine, v)
        if at < ahead:
            engine.scheduler.cut(at, v.index)
            v.cut_to(at)


def apply_batch(engine: Engine, most: int) -> None:
    """Take up to ``most`` commands from the inbox (each renews its sender's subscriptions),
    leave out the superseded ones (``coalesce``), apply the rest in order; a refusal goes
    back to its sender as ``/livernn/error``, and nothing a command does stops the engine."""
    batch = []
    now = engine.clock.now()
    while len(batch) < most:
        cmd = engine.commands.take(now)
        if cmd is None:
            break
        if cmd.sender is not None and engine.subscriptions is not None:
            engine.subscriptions.renew(cmd.sender, engine.clock.now())  # any message renews
        batch.append(cmd)
    if engine.config.coalesce:
        batch = coalesce(batch)
    for cmd in batch:
        try:
            err = apply(engine, cmd)
        except LivernnError as e:
            err = str(e)
        except Exception as e:  # never let one command stop the engine
            log.exception("command %s failed", cmd.name)
            err = f"{cmd.name} failed: {type(e).__name__}"
        if err and cmd.sender is not None and engine.reply is not None:
            engine.reply(cmd.sender, "/livernn/error", [err])


def coalesce(batch: list[Command]) -> list[Command]:
    """The commands of one engine iteration with superseded seeds and primes left out: the
    last seed to a voice wins over earlier seeds and primes to it, the last prime over
    earlier primes (a seed storm to one voice costs one reseed per iteration, so it cannot
    starve the voices that play; issue 14.7). Order is kept; everything else is applied."""
    seeded: set[int | None] = set()  # voices (None: all) with a later seed
    primed: set[int | None] = set()
    keep: list[Command] = []
    for cmd in reversed(batch):
        if cmd.name in ("seed", "prime"):
            later = seeded | primed if cmd.name == "prime" else seeded
            if None in later or cmd.voice in later:
                continue
            (seeded if cmd.name == "seed" else primed).add(cmd.voice)
        keep.append(cmd)
    keep.reverse()
    return keep


# -- text ----------------------------------------------------------------------------------


@handles("seed")
def _seed(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    engine.vocab.encode(cmd.value)  # VocabError before any change
    playhead, now = engine.playhead(), engine.clock.now()
    for v in targets:
        if engine.config.quantize == "bar" and v.running:
            at = v.next_bar(playhead)
            if engine.sync.offset is not None:  # in sync: on the band's next downbeat
                at = sync.grid(engine, engine._soon())
            v.pending_seed = (cmd.value, at)
        elif v.running and not v.seed_budget.take(now):
            v.deferred_seed = cmd.value  # over the voice's reseed budget: the latest waits
        else:
            engine.seed(v, cmd.value, playhead)


@handles("reset")
def _reset(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    playhead = engine.playhead()
    for v in targets:
        engine.seed(v, v.deferred_seed or v.seed, playhead)  # the performer's last seed


@handles("prime")
def _prime(engine: Engine, cmd: Command, targets: list[Voice]) -> str | None:
    engine.vocab.encode(cmd.value)
    for v in targets:  # every target is checked before any is changed
        if len(v.forced) + len(cmd.value) > MAX_PRIMED:
            return "too much primed text waiting"
    for v in targets:
        v.forced.extend(cmd.value)
    return None


@handles("key")
def _key(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:  # at the next bar line (or in the header being written)
        v.bar_key, v.pending_key = cmd.value, None


@handles("meter")
def _meter(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:
        v.bar_meter, v.pending_meter = cmd.value, None


@handles("key/next")
def _key_next(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:  # in the next tune's header
        v.pending_key, v.bar_key = cmd.value, None


@handles("meter/next")
def _meter_next(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:
        v.pending_meter, v.bar_meter = cmd.value, None


# -- sampling ------------------------------------------------------------------------------


@handles("constrain")
def _constrain(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:
        v.constrain(cmd.value)


@handles("temperature", "top_k", "top_p")
def _sampling(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:
        v.retune(**{cmd.name: cmd.value})


@handles("rng_seed")
def _rng_seed(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:
        seed = cmd.value if cmd.voice is not None else cmd.value + v.index
        v.rng = np.random.default_rng(seed)


# -- a state you can fork (engine/fork.py) -------------------------------------------------


@handles("rewind")
def _rewind(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v, snap, at in fork.go_back(engine, targets, int(cmd.value)):
        v.forks.loop = None
        fork.jump(engine, v, snap, at, rng=False)  # the same place, fresh sampling


@handles("loop")
def _loop(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    bars = int(cmd.value)
    if bars == 0:
        for v in targets:
            v.forks.loop = None
        return
    for v, snap, at in fork.go_back(engine, targets, bars):
        fork.start_loop(engine, v, snap, at, bars)  # the same notes again, every round


@handles("mutate")
def _mutate(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    bars, temperature = cmd.value
    for v, snap, at in fork.go_back(engine, targets, int(bars)):
        v.forks.loop = None
        fork.jump(engine, v, snap, at, rng=False)
        v.retune(temperature=float(temperature))  # a variation on the same phrase


@handles("bookmark")
def _bookmark(engine: Engine, cmd: Command, targets: list[Voice]) -> str | None:
    marks = {v.index: v.forks.ring[-1] for v in targets if v.forks.ring}
    if not marks:
        return "no bar line written yet to bookmark"
    engine.bookmarks.pop(cmd.value, None)
    while len(engine.bookmarks) >= fork.MAX_BOOKMARKS:
        engine.bookmarks.pop(next(iter(engine.bookmarks)))  # the oldest goes
    engine.bookmarks[cmd.value] = marks
    return None


@handles("recall")
def _recall(engine: Engine, cmd: Command, targets: list[Voice]) -> str | None:
    marks = engine.bookmarks.get(cmd.value)
    if marks is None:
        return f"no bookmark named {cmd.value}"
    # each voice its own state; one voice's bookmark can start any other
    only = next(iter(marks.values())) if len(marks) == 1 else None
    plan = [(v, marks.get(v.index, only)) for v in targets]
    if any(snap is None for _, snap in plan):
        return f"bookmark {cmd.value} has no state for every voice asked"
    for v, snap in plan:
        v.forks.loop = None
        fork.jump(engine, v, snap, fork.next_bar(engine, v), rng=True)
    return None


@handles("midi_in")
def _midi_in(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:
        v.ear.mode = cmd.value
        if cmd.value != "listen" and v.listening:  # it answers now
            v.ear.tr, v.listening = None, False
            v.origin = max(v.write_beat(), engine.playhead()) - float(v.interp.settled)


# -- MIDI shaping --------------------------------------------------------------------------


@handles("channel")
def _channel(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    now = engine.clock.now()
    for v in targets:
        v.reshape(channel=int(cmd.value))
        if v.cfg.program is not None:
            engine.program(now, v.cfg.channel, v.cfg.program)


@handles("program")
def _program(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:
        v.reshape(program=int(cmd.value))
    now = engine.clock.now()
    for ch in sorted({v.cfg.channel for v in targets}):
        engine.program(now, ch, int(cmd.value))


@handles("velocity")
def _velocity(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:
        v.reshape(velocity=float(cmd.value))


@handles("transpose")
def _transpose(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    for v in targets:
        v.reshape(transpose=int(cmd.value))


@handles("backing")
def _backing(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    """Chord backing on or off from the next note (sounding backing notes end at once)."""
    on = bool(int(cmd.value))
    for v in targets:
        if v.cfg.backing and not on:
            engine.release_backing(v.index)
        v.reshape(backing=on)


# -- the server's own ----------------------------------------------------------------------


@handles("subscribe")
def _subscribe(engine: Engine, cmd: Command, targets: list[Voice]) -> str | None:
    if engine.subscriptions is None:
        return "OSC out is not available"
    return engine.subscriptions.subscribe(cmd.value, cmd.sender, engine.clock.now())


@handles("unsubscribe")
def _unsubscribe(engine: Engine, cmd: Command, targets: list[Voice]) -> str | None:
    if engine.subscriptions is None:
        return "OSC out is not available"
    return engine.subscriptions.unsubscribe(cmd.value, cmd.sender)


@handles("ping")
def _ping(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    if cmd.sender is not None and engine.reply is not None:
        engine.reply(cmd.sender, "/livernn/pong", [])


@handles("status")
def _status(engine: Engine, cmd: Command, targets: list[Voice]) -> None:
    if cmd.sender is not None and engine.reply is not None:
        engine.reply(cmd.sender, "/livernn/status", engine.status_args())


from livernn.engine import transport  # noqa: E402, F401  (its handlers: time and transport)


def check_table() -> None:
    """Every address has exactly one handler and every handler an address."""
    names = {a.name for a in ADDRESSES.values()}
    missing, extra = names - HANDLERS.keys(), HANDLERS.keys() - names
    if missing or extra:
        raise LivernnError(
            f"command table: no handler for {sorted(missing)}, no address for {sorted(extra)}"
        )


check_table()
