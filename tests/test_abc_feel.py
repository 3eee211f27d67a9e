"""Session feel (issue 13): grace notes, chord stagger, hornpipe swing and chord backing, as
abc2midi 4.84 plays them by default; streaming guarantees; and ``livernn render`` of a reel
with graces, rolls and chord names against abc2midi itself (melody and backing)."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from livernn.abc import AbcInterpreter, InterpreterOptions, NoteEvent
from livernn.abc.backing import chord_code, chord_pitches
from livernn.abc.events import BASS, CHORD, MELODY
from livernn.cli import main
from tests.support.abc2midi import abc2midi_notes, event_keys, have_abc2midi, midi_notes

HEADER = "X:1\nT:t\nM:4/4\nL:1/8\nK:G\n"
REEL = """X:1
T:The Feel Reel
R:reel
M:4/4
L:1/8
K:D
|:"D"{g}A2 FA ~d3 e|"G"fdec "A7"d2 {/a}gf|"Bm"{gAg}f2 ed "G/B"B2 AF|"A"[EA]2 ce {c}d2 z2:|
"D"d2 fd {e}f2 ed|"Em"e2 ge "A"c2 BA|"D/F#"F2 AF "G"G2 Bd|"A7"c2 ec "D"d4|]
"""
HORNPIPE = """X:1
T:The Feel Hornpipe
R:hornpipe
M:4/4
L:1/8
K:G
(3DEF|"G"GFGA BGDB|"C"cBce "D"dBAF|"G"G2 {a}g2 fedc|"D"BAGF "G"G2:|
"""


def events(text: str, options: InterpreterOptions | None = None) -> list[NoteEvent]:
    it = AbcInterpreter(options)
    return [e for e in it.feed(text) + it.flush() if isinstance(e, NoteEvent)]


def melody(body: str, header: str = HEADER, **opts: object) -> list[tuple[int, float, float]]:
    opts.setdefault("backing", False)
    out = events(header + body + "\n", InterpreterOptions(**opts))  # type: ignore[arg-type]
    return sorted(
        ((e.pitch, round(e.onset, 6), round(e.duration, 6)) for e in out),
        key=lambda n: (n[1], n[0]),
    )


# ---------------------------------------------------------------------- grace notes
def test_a_grace_note_takes_a_quarter_of_its_length_from_the_next_note() -> None:
    # {g} at L:1/8 lasts 1/32 note (1/8 beat); A2 starts that much later, that much shorter
    assert melody("{g}A2 B2") == [(67 + 12, 0.0, 0.125), (69, 0.125, 0.875), (71, 1.0, 1.0)]
    assert melody("{/g}A2 B2") == melody("{g}A2 B2")  # an acciaccatura sounds the same


def test_a_group_of_graces_and_its_lengths() -> None:
    got = melody("{gAg}A4")
    assert got == [(79, 0.0, 0.125), (69, 0.125, 0.125), (79, 0.25, 0.125), (69, 0.375, 1.625)]
    assert melody("{g2}A2")[0] == (79, 0.0, 0.25)  # a grace note's own length counts


def test_graces_too_long_for_their_host_or_before_a_bar_line_are_dropped() -> None:
    assert melody("{gfgfgfgfg}A/2 B") == [(69, 0.0, 0.25), (71, 0.25, 0.5)]
    assert melody("{g}|A2") == [(69, 0.0, 1.0)]


def test_a_grace_accidental_holds_to_the_end_of_the_bar() -> None:
    got = melody("{=f}g2 f2|f2", header=HEADER)  # K:G: f is F#; the grace writes =f
    assert [p for p, _, _ in got] == [77, 79, 77, 78]


def test_graces_off_is_minus_ngra() -> None:
    assert melody("{g}A2 B2", graces=False) == [(69, 0.0, 1.0), (71, 1.0, 1.0)]


# ---------------------------------------------------------------------- chords, swing
def test_chord_notes_are_staggered_by_the_chordattack_ticks() -> None:
    step = 10 / 480
    got = melody("[GBd]4")
    assert got == [
        (67, 0.0, 2.0), (71, round(step, 6), round(2 - step, 6)),
        (74, round(2 * step, 6), round(2 - 2 * step, 6)),
    ]  # fmt: skip
    assert {on for _, on, _ in melody("[GBd]4", chord_attack=0)} == {0.0}


def test_a_hornpipe_swings_pairs_of_eighths_at_two_to_one() -> None:
    swung = melody("GABc dBAF|", header=HEADER.replace("K:G", "R:hornpipe\nK:G"))
    assert [d for _, _, d in swung][:2] == [
        round(2 / 3, 6),
        round(1 / 3, 6),
    ]
    assert all(d == 0.5 for _, _, d in melody("GABc dBAF|"))  # no R:hornpipe: even
    plain = melody("GABc dBAF|", header=HEADER.replace("K:G", "R:hornpipe\nK:G"), hornpipe=False)
    assert all(d == 0.5 for _, _, d in plain)


def test_broken_rhythm_ratio_and_the_cs_option() -> None:
    assert [d for _, _, d in sorted(melody("A>B"), key=lambda n: n[1])] == [0.75, 0.25]
    two_one = melody("A>B", broken_2_1=True)
    assert [d for _, _, d in sorted(two_one, key=lambda n: n[1])] == [
        round(2 / 3, 6),
        round(1 / 3, 6),
    ]


# ---------------------------------------------------------------------- backing
def test_chord_names() -> None:
    assert chord_pitches(chord_code("G")[0]) == (43, (55, 59, 62))  # type: ignore[index]
    assert chord_pitches(chord_code("Am7")[0]) == (45, (57, 60, 64, 67))  # type: ignore[index]
    # an inversion: the bass plays F#, the chord notes below it go up an octave
    assert chord_pitches(chord_code("D/F#")[0]) == (42, (62, 54, 57))  # type: ignore[index]
    assert chord_pitches(chord_code("g")[0]) == (43, ())  # type: ignore[index]
    assert chord_code("Gxyz") == (chord_code("G")[0], False)  # type: ignore[index]
    for text in ("^up", "_down", "<left", "@1,2", "3", "Segno", ""):
        assert chord_code(text) is None


def test_backing_plays_the_default_pattern_of_the_meter_until_the_next_chord() -> None:
    out = events(HEADER + '"G"A2 B2 "D"A4|"Em"G8|\n')
    bass = sorted((e.onset, e.pitch) for e in out if e.backing == BASS)
    chords = sorted((e.onset, e.pitch) for e in out if e.backing == CHORD)
    assert bass == [(0.0, 43), (2.0, 38), (4.0, 40), (6.0, 40)]  # f z c z f z c z
    assert chords == [
        (1.0, 55), (1.0, 59), (1.0, 62), (3.0, 50), (3.0, 54), (3.0, 57),
        (5.0, 52), (5.0, 55), (5.0, 59), (7.0, 52), (7.0, 55), (7.0, 59),
    ]  # fmt: skip
    assert all(e.duration == 0.5 for e in out if e.backing)
    assert [e.pitch for e in out if e.backing == MELODY][:3] == [69, 71, 69]


def test_backing_in_six_eight_and_its_velocities() -> None:
    out = events(HEADER.replace("4/4", "6/8") + '"Am"A3 B3|\n')
    backing = sorted((e.onset, e.backing, e.velocity) for e in out if e.backing)
    # fzcfzc in eighths: bass, rest, chord, bass, rest, chord
    assert {(on, role) for on, role, _ in backing} == {
        (0.0, BASS),
        (1.0, CHORD),
        (1.5, BASS),
        (2.5, CHORD),
    }
    assert {v for _, role, v in backing if role == BASS} == {80}
    assert {v for _, role, v in backing if role == CHORD} == {75}


def test_no_backing_without_a_chord_name_abc2midi_knows_or_when_off() -> None:
    assert not any(e.backing for e in events(HEADER + '"D.C."A8|"Segno"B8|\n'))
    assert not any(
        e.backing for e in events(HEADER + '"G"A8|\n', InterpreterOptions(backing=False))
    )


def test_backing_follows_repeats() -> None:
    out = events(HEADER + '|:"G"A8|"D"B8:|\n')
    bass = sorted((e.onset, e.pitch) for e in out if e.backing == BASS)
    assert [p for _, p in bass] == [43, 43, 38, 38] * 2
    assert bass[-1][0] == 14.0


def test_plain_options_play_none_of_it() -> None:
    text = HORNPIPE + "\n" + REEL
    plain = events(text, InterpreterOptions.plain())
    assert not any(e.backing for e in plain)
    assert len(events(text)) > len(plain)


# ---------------------------------------------------------------------- streaming
FEEL_WORDS = [
    '"G"', '"Am"', '"D7/F#"', '"e"', '"^x"', "{g}", "{gAg}", "{/a}", "{", "}", "A", "B2",
    "c/", "d>", "e<", "[GB]", "|", "|:", ":|", "[1", "|2", "~", ".", "z", " ", "\n", "(3",
    "-", "[M:6/8]", "[K:D]",
]  # fmt: skip
feel_text = st.lists(st.sampled_from(FEEL_WORDS), max_size=80).map("".join)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(feel_text, st.booleans())
@example('|2d>||"G"', False)  # a note held open in a skipped ending, settled after it
@example('d>|:"G"|:', False)  # a note held open across |: is not part of the section
def test_one_char_at_a_time_equals_all_at_once_and_nothing_comes_before_settled(
    body: str, hornpipe: bool
) -> None:
    head = HEADER.replace("K:G", "R:hornpipe\nK:G") if hornpipe else HEADER
    text = head + body + "\n"
    whole = AbcInterpreter()
    expected = whole.feed(text) + whole.flush()
    it = AbcInterpreter()
    got: list = []
    settled = 0.0
    for c in text:
        new = it.feed(c)
        for e in new:
            if isinstance(e, NoteEvent):  # the engine sends notes before settled: none late
                assert e.onset >= settled - 1e-9, (e, settled)
        got += new
        if it.in_tune:
            settled = max(settled, it.settled)
    got += it.flush()
    assert got == expected


# ---------------------------------------------------------------------- against abc2midi
@pytest.mark.skipif(
    not have_abc2midi(), reason="abc2midi is not installed (apt-get install abcmidi)"
)
@pytest.mark.parametrize("tune", [REEL, HORNPIPE], ids=["reel", "hornpipe"])
def test_render_sounds_like_abc2midi_melody_and_backing(
    tune: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "tune.abc"
    src.write_text(tune)
    out = tmp_path / "tune.mid"
    assert main(["render", str(src), "--out", str(out)]) == 0
    capsys.readouterr()
    ours = midi_notes(mido.MidiFile(out))
    (theirs,) = abc2midi_notes([tune], tmp_path / "ref", "default")
    assert theirs is not None
    assert {k[3] for k in theirs} == {0, 1, 2}  # abc2midi played melody, bass and chords
    assert ours == theirs
    mid = mido.MidiFile(out)
    backing = [m for m in mid.tracks[2] if m.type == "note_on"]
    assert {m.channel for m in backing} == {1, 2}  # its own channels (2 and 3)


# ---------------------------------------------------------------------- dynamics, %%MIDI
DYNAMICS_TUNE = """X:1
T:Dynamics
M:4/4
L:1/4
K:C
CDEF|!p!CDEF|!crescendo(!CDEF|!fff!CD!diminuendo(!EF|[M:6/8][L:1/8]!mf!CDEFGA|
"""
DIRECTIVES_TUNE = """X:1
T:Directives
M:4/4
L:1/8
%%MIDI ratio 2 1
%%MIDI chordattack 20
%%MIDI gchord f2c2f2c2
K:G
"G"A>B [GB]2 {g}A4|
%%MIDI gracedivider 2
%%MIDI beat 100 70 40 1
"D"{g}A>B c2 d4|
%%MIDI gchordoff
"G"A2 B2 c4|
%%MIDI gchordon
%%MIDI gchord fzcz
"C"c8|
"""


def midi_velocities(path: Path) -> list[tuple[int, int, int]]:
    """(onset tick / 5, pitch, velocity) of every note-on of a MIDI file (480 ticks a beat:
    abc2midi starts its notes one tick late, hence the coarse onset)."""
    out = []
    for track in mido.MidiFile(path).tracks:
        t = 0
        for m in track:
            t += m.time
            if m.type == "note_on" and m.velocity > 0:
                out.append((t // 5, m.note, m.velocity))
    return sorted(out)


def test_dynamics_and_directives_off() -> None:
    plain = events(DIRECTIVES_TUNE, InterpreterOptions(directives=False, backing=False))
    on = events(DIRECTIVES_TUNE, InterpreterOptions(backing=False))
    assert [e.duration for e in plain][:2] == [0.75, 0.25]  # a>b at 3:1: ratio not read
    assert [round(e.duration, 6) for e in on][:2] == [round(2 / 3, 6), round(1 / 3, 6)]
    flat = events(DYNAMICS_TUNE, InterpreterOptions(dynamics=False))
    assert {e.velocity for e in flat} == {80, 95, 105}


@pytest.mark.skipif(
    not have_abc2midi(), reason="abc2midi is not installed (apt-get install abcmidi)"
)
@pytest.mark.parametrize("tune", [DYNAMICS_TUNE, DIRECTIVES_TUNE], ids=["dynamics", "midi"])
def test_dynamics_and_directives_sound_as_abc2midi_plays_them(
    tune: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "tune.abc"
    src.write_text(tune)
    out = tmp_path / "tune.mid"
    assert main(["render", str(src), "--out", str(out)]) == 0
    capsys.readouterr()
    (theirs,) = abc2midi_notes([tune], tmp_path / "ref", "default")
    assert midi_notes(mido.MidiFile(out)) == theirs
    ref = sorted(tmp_path.glob("ref/*.mid"))
    assert len(ref) == 1
    assert midi_velocities(out) == midi_velocities(ref[0])


ROLLS_TUNE = """X:1
T:Rolls and fermatas
M:6/8
L:1/8
K:D
~d3 ~e2f ~A3|~B2 c Hd3|!fermata!e3 d3|]
"""


@pytest.mark.skipif(
    not have_abc2midi(), reason="abc2midi is not installed (apt-get install abcmidi)"
)
@pytest.mark.parametrize(
    ("flag", "options"),
    [("-HARP", {"harp": True}), ("-NFER", {"fermatas": False}), (None, {})],
)
def test_harp_rolls_and_no_fermatas_as_abc2midi_flags(
    flag: str | None, options: dict, tmp_path: Path
) -> None:
    import subprocess

    src = tmp_path / "t.abc"
    src.write_text(ROLLS_TUNE)
    out = tmp_path / "t.mid"
    cmd = ["abc2midi", str(src), "-o", str(out), "-quiet", "-silent", *([flag] if flag else [])]
    subprocess.run(cmd, check=False, capture_output=True, timeout=60)
    theirs = midi_notes(mido.MidiFile(out))
    it = AbcInterpreter(InterpreterOptions(**options))
    assert event_keys(it.feed(ROLLS_TUNE) + it.flush()) == theirs
