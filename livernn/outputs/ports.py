"""``livernn ports``: list the MIDI output ports livernn can play to."""

from __future__ import annotations

import argparse

from livernn.outputs.midi import APIS, candidate_apis


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--midi-api", choices=sorted(APIS), default=None, help="only this API (default: all usable)"
    )


def run(args: argparse.Namespace) -> int:
    import os

    from livernn.outputs.midi import output_names

    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    apis = candidate_apis(args.midi_api)
    found = False
    for api in apis:
        names = output_names(api)
        label = api or "default"
        if not names:
            print(f"{label}: no output ports (API unavailable or nothing connected)")
            continue
        found = True
        for n in names:
            print(f"{label}: {n}")
    if not found:
        print("no MIDI output ports; 'livernn serve' still plays to OSC (see --osc-out)")
    return 0
