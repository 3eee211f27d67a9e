"""A private network namespace with only loopback, for Ableton Link (tests/test_link.py,
bench/sync.py): Link discovers peers by UDP multicast on every interface, so its traffic must
never reach the machine's own interfaces. ``unshare -n`` (util-linux) makes the namespace;
``ip`` (iproute2) brings ``lo`` up with multicast and routes 224.0.0.0/4 on it."""

from __future__ import annotations

import subprocess

NAMESPACE = 'ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo && exec "$@"'


def in_namespace(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``argv`` in a new network namespace that has only loopback (multicast on it)."""
    return subprocess.run(
        ["unshare", "-n", "bash", "-c", NAMESPACE, "ns", *argv],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
