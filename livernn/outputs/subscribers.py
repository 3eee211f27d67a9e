"""Who may receive the out messages: the subscription table (pure: time is passed in).

A ``/livernn/subscribe`` may only name the sender's own host, the loopback, a host given
with ``--osc-out``, or one allowed with ``--allow-subscribe`` (an address or a CIDR range);
broadcast and multicast only when ``--allow-subscribe`` names them, so no local process can
point livernn's note echo at another machine or a whole network (issue 14.5). A subscription
lasts ``LIFETIME`` seconds after its owner's last message (any valid message renews it); only
its owner (the sender address and port that made it) or the target itself can cancel it; one
host holds at most ``PER_HOST`` of them, and the table at most ``limit``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

LIFETIME = 600.0  # seconds after the owner's last message
PER_HOST = 4  # subscriptions one sender host may hold

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: tuple[str, ...], flag: str) -> tuple[Network, ...]:
    """``--allow``/``--allow-subscribe`` values as networks; ValueError (with a one-line
    reason) for anything that can never match a sender (a hostname, a typo)."""
    out = []
    for item in items:
        if item == "*":
            out += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
            continue
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{flag} takes IP addresses or CIDR ranges (10.0.0.0/8, ::1), not {item!r}"
            ) from None
    return tuple(out)


def ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        a = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


def in_networks(host: str, networks: tuple[Network, ...]) -> bool:
    a = ip(host)
    return a is not None and any(a.version == n.version and a in n for n in networks)


def is_loopback(host: str) -> bool:
    a = ip(host)
    return a is not None and a.is_loopback


@dataclass(slots=True)
class Subscription:
    target: tuple[str, int]
    owner: tuple[str, int]  # the sender that made it
    renewed: float


class SubscriberTable:
    """The subscriptions and the rules above; ``now`` is the engine clock's time."""

    def __init__(
        self,
        fixed_hosts: tuple[str, ...] = (),
        allow: tuple[Network, ...] = (),
        limit: int = 32,
        lifetime: float = LIFETIME,
        per_host: int = PER_HOST,
    ) -> None:
        self.fixed_hosts = set(fixed_hosts)
        self.allow = allow
        self.limit = limit
        self.lifetime = lifetime
        self.per_host = per_host
        self.entries: dict[tuple[str, int], Subscription] = {}

    def refuse(self, target: tuple[str, int], owner: tuple[str, int] | None) -> str | None:
        """Why ``owner`` may not subscribe ``target`` (None: it may)."""
        host = target[0]
        a = ip(host)
        if a is None:
            return f"host must be an IP address or localhost, got {host!r}"
        named = in_networks(host, self.allow) or host in self.fixed_hosts
        if (a.is_multicast or _is_broadcast(a)) and not named:
            return f"{host} is a broadcast or multicast address (--allow-subscribe {host} lets it)"
        if a.is_loopback or named or (owner is not None and ip(owner[0]) == a):
            return None
        return f"{host} is not the sender's own address (--allow-subscribe {host} lets it)"

    def add(self, target: tuple[str, int], owner: tuple[str, int] | None, now: float) -> str | None:
        why = self.refuse(target, owner)
        if why is not None:
            return why
        owner = owner or target
        if target in self.entries:
            self.entries[target].renewed = now
            return None
        host = ip(owner[0])
        if sum(1 for s in self.entries.values() if ip(s.owner[0]) == host) >= self.per_host:
            return (
                f"{owner[0]} holds {self.per_host} subscriptions already (at most {self.per_host})"
            )
        if len(self.entries) >= self.limit:
            return f"too many subscribers (at most {self.limit})"
        self.entries[target] = Subscription(target, owner, now)
        return None

    def remove(self, target: tuple[str, int], owner: tuple[str, int] | None) -> str | None:
        entry = self.entries.get(target)
        if entry is None:
            return None
        if owner is not None and owner not in (entry.owner, target):
            return f"{target[0]}:{target[1]} was subscribed by another client"
        del self.entries[target]
        return None

    def renew(self, owner: tuple[str, int], now: float) -> None:
        for s in self.entries.values():
            if s.owner == owner:
                s.renewed = now

    def expire(self, now: float) -> list[tuple[str, int]]:
        gone = [t for t, s in self.entries.items() if now - s.renewed > self.lifetime]
        for t in gone:
            del self.entries[t]
        return gone

    def targets(self) -> list[tuple[str, int]]:
        return list(self.entries)


def _is_broadcast(a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # The limited broadcast, and any x.x.x.255 (the usual /24 subnet broadcast): livernn
    # cannot know the netmask of a remote network, so it errs on the safe side.
    return a.version == 4 and (a == ipaddress.IPv4Address("255.255.255.255") or a.packed[3] == 255)
