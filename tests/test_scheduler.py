"""The pure note queue and the sounding-note registry."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from livernn.scheduler import OFF, ON, Scheduler, Sounding


def kinds(due):
    return [("on" if d.kind == ON else "off", d.note.pitch, d.beat) for d in due]


def test_order_by_beat_offs_first_at_the_same_beat():
    s = Scheduler()
    s.add(0, 60, 80, 0.0, 1.0)
    s.add(0, 60, 80, 1.0, 2.0)  # the same pitch again right after
    s.add(0, 64, 80, 0.5, 1.5)
    assert s.next_beat() == 0.0
    assert kinds(s.pop_due(1.0)) == [
        ("on", 60, 0.0),
        ("on", 64, 0.5),
        ("off", 60, 1.0),
        ("on", 60, 1.0),
    ]
    assert s.next_beat() == 1.5
    assert kinds(s.pop_due(10.0)) == [("off", 64, 1.5), ("off", 60, 2.0)]
    assert s.next_beat() is None and len(s) == 0


def test_off_beat_never_before_on_beat():
    s = Scheduler()
    n = s.add(0, 60, 80, 2.0, 1.0)
    assert n.off_beat == 2.0
    assert [d.kind for d in s.pop_due(2.0)] == [ON, OFF]


def test_cut_drops_later_notes_and_ends_sounding_ones_at_the_cut():
    s = Scheduler()
    s.add(0, 60, 80, 0.0, 4.0)  # spans the cut
    s.add(0, 62, 80, 3.0, 3.5)  # starts after the cut
    s.add(1, 70, 80, 3.0, 5.0)  # another voice: untouched
    s.pop_due(0.0)
    s.cut(2.0, voice=0)
    assert kinds(s.pop_due(2.0)) == [("off", 60, 2.0)]
    assert [n.pitch for n in s.pending()] == [70]
    assert kinds(s.pop_due(9.0)) == [("on", 70, 3.0), ("off", 70, 5.0)]


def test_drop_forgets_one_voice():
    s = Scheduler()
    s.add(0, 60, 80, 1.0, 2.0)
    s.add(1, 61, 80, 1.0, 2.0)
    s.drop(voice=0)
    assert [n.voice for n in s.pending()] == [1]
    s.drop()
    assert s.pop_due(100.0) == [] and len(s) == 0


def test_sounding_counts_overlaps_of_one_pitch():
    so = Sounding()
    assert so.on(1, 0, 1, 60, 0.0) is False
    assert so.on(2, 1, 1, 60, 0.1) is True  # re-strike: caller sends an off first
    assert so.off(1) is None  # the pitch is still held by note 2
    assert so.off(1) is None  # unknown now
    assert so.off(2) == (1, 60)
    assert len(so) == 0


def test_sounding_release_and_overdue():
    so = Sounding()
    so.on(1, 0, 1, 60, 0.0)
    so.on(2, 1, 2, 62, 5.0)
    assert so.overdue(4.0, max_seconds=3.0) == [(0, 1, 60)]
    assert so.held() == [(1, 2, 62)]
    assert so.release(voice=0) == []
    assert so.release() == [(1, 2, 62)]
    assert len(so) == 0


ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"), st.integers(0, 2), st.integers(58, 62), st.floats(0, 8), st.floats(0, 3)
        ),
        st.tuples(st.just("advance"), st.floats(0, 2)),
        st.tuples(st.just("cut"), st.integers(0, 2)),
        st.tuples(st.just("release"), st.integers(0, 2)),
        st.tuples(st.just("overdue"), st.floats(0.1, 2)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_every_note_on_sent_is_matched_by_one_note_off(program):
    """Drive the scheduler + registry like the engine does; MIDI on/off always balance."""
    s, so = Scheduler(), Sounding()
    beat = 0.0
    midi: dict[tuple[int, int], int] = {}

    def send(kind, ch, pitch):
        k = (ch, pitch)
        if kind == "on":
            midi[k] = midi.get(k, 0) + 1
        else:
            assert midi.get(k, 0) > 0, "note-off with no sounding note"
            midi[k] = 0  # a MIDI note-off silences the pitch

    def run_due():
        for d in s.pop_due(beat):
            n = d.note
            if d.kind == ON:
                if so.on(n.id, n.voice, n.voice + 1, n.pitch, beat):
                    send("off", n.voice + 1, n.pitch)
                send("on", n.voice + 1, n.pitch)
            else:
                key = so.off(n.id)
                if key:
                    send("off", *key)

    for op in program:
        if op[0] == "add":
            _, v, p, start, dur = op
            s.add(v, p, 80, beat + start, beat + start + dur)
        elif op[0] == "advance":
            beat += op[1]
        elif op[0] == "cut":
            s.cut(beat, voice=op[1])
        elif op[0] == "release":
            for _, ch, p in so.release(op[1]):
                send("off", ch, p)
            s.drop(op[1])
        else:
            for _, ch, p in so.overdue(beat, op[1]):
                send("off", ch, p)
        run_due()
    for _, ch, p in so.release():
        send("off", ch, p)
    s.drop()
    assert not any(midi.values()), midi
