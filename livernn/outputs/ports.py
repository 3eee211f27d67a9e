"""``livernn ports``: list the MIDI output ports livernn can play to (with JACK up, its MIDI
inputs; ``outputs/jack.py`` asks JACK when rtmidi sees nothing)."""

from __future__ import annotations

import argparse

from livernn.outputs.midi import APIS, candidate_apis


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--midi-api", choices=sorted(APIS), default=None, help="only this API (default: all usable)"
    )


def run(args: argparse.Namespace) -> int:
    import os

    from livernn.outputs import jack
    from livernn.outputs.midi import output_names

    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    apis = candidate_apis(args.midi_api)
    found = False
    for api in apis:
        names = output_names(api)
        label = api or "default"
        if api == "jack" and not names:
            jack_ports = jack.ports()
            if jack_ports is not None:  # up, but rtmidi saw nothing: say what JACK has
                names = jack.midi_inputs(jack_ports)
                if not names:
                    audio = sum(p.kind == "audio" for p in jack_ports)
                    print(
                        f"jack: server up ({audio} audio ports), no MIDI inputs: start a synth"
                        " (livernn serve connects to it), or use 'livernn serve --synth'"
                    )
                    continue
        if not names:
            why = "API unavailable" if api != "jack" else "no JACK server running"
            print(f"{label}: no output ports ({why} or nothing to play to)")
            continue
        found = True
        for n in names:
            print(f"{label}: {n}")
    if not found:
        print(
            "no MIDI output ports; 'livernn serve --synth' plays through FluidSynth, and"
            " 'livernn serve' still plays to OSC (see --osc-out)"
        )
    from livernn.outputs.midi_in import input_names

    for api in apis:  # where a performer can play in from (--midi-in PORT)
        for n in input_names(api):
            print(f"{api or 'default'} input: {n}")
    return 0
