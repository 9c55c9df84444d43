"""Which addresses a webhook may be sent to: the SSRF guard's judgement of one address.

An address must be global (not loopback, private, link-local, shared, reserved, multicast or
unspecified). An IPv6 address that carries IPv4 addresses (mapped, compatible, SIIT, 6to4,
Teredo, NAT64, ISATAP: `CARRIERS`) is refused when any IPv4 address inside is not global. A
literal host is read as the C resolver reads it (`2130706433`, `0x7f.1` are 127.0.0.1) and
never looked up; IPv6 zone ids are refused. Pure functions of the address: resolving names and
sending are `services/webhook_urls.py` and `services/webhooks.py`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptoagg.core.errors import CryptoAggError


class WebhookRefused(CryptoAggError):
    """The URL is not one we may send to."""

    code = "webhook_refused"


# -- literal hosts ------------------------------------------------------------------------

# one part of an IPv4 address as the C resolver reads it (inet_aton): hex, octal or decimal
_IPV4_PART = re.compile(r"0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*|[0-9]+", re.IGNORECASE)


def _ipv4_number(part: str) -> int | None:
    """The value of one inet_aton part; None when it is not a valid number (`0x`, `08`)."""
    lower = part.lower()
    if lower.startswith("0x"):
        return int(lower[2:], 16) if len(lower) > 2 else None
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if all(c in "01234567" for c in part) else None
    return int(part)


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL host names literally, or None when it is a name to resolve.

    IPv6 literals (httpx hands them over without brackets) may not carry a zone id. An IPv4
    literal is read the way the C resolver reads it (`getaddrinfo` → `inet_aton`), so every
    spelling of an address is checked as that address: `2130706433`, `0x7f.1` and `0177.0.0.1`
    are all 127.0.0.1. A host whose last label is a number but which is no valid IPv4 address
    (`1.2.3.4.5`, `4294967296`, `08.0.0.1`) is refused, as a WHATWG URL parser refuses it,
    rather than looked up as a name.
    """
    if ":" in host:
        if "%" in host:
            raise WebhookRefused("IPv6 zone ids are not allowed in webhook URLs")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise WebhookRefused("not a valid URL") from None
    parts = host.removesuffix(".").split(".")
    if not _IPV4_PART.fullmatch(parts[-1]):
        return None  # a name: its last label is not a number
    numbers = [_ipv4_number(p) if _IPV4_PART.fullmatch(p) else None for p in parts]
    *leading, last = numbers
    if len(parts) > 4 or last is None or any(n is None or n > 255 for n in leading):
        raise WebhookRefused(f"not a valid IPv4 address: {host}")
    if last >= 1 << (8 * (5 - len(parts))):
        raise WebhookRefused(f"not a valid IPv4 address: {host}")
    value = last
    for index, number in enumerate(leading):
        value |= (number or 0) << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


# -- addresses that carry an IPv4 address --------------------------------------------------

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Carrier:
    """An IPv6 form that embeds IPv4 addresses. A connection to such an address can reach the
    IPv4 host (dual-stack socket, tunnel, relay or translator), so every IPv4 address inside
    is judged as an address of its own. `by_ipv4_alone`: with only global IPv4 inside, the
    address is allowed (IANA lists the prefix as globally reachable or "N/A"); otherwise the
    form is refused anyway (deprecated, obsolete or not globally reachable) and the IPv4
    inside only makes the reason more precise."""

    name: str
    network: ipaddress.IPv6Network
    by_ipv4_alone: bool
    extract: Callable[[IPv6], list[IPv4]]


def _low32(ip: IPv6) -> list[IPv4]:
    return [IPv4(int(ip) & 0xFFFFFFFF)]


def _sixtofour(ip: IPv6) -> list[IPv4]:
    return [] if ip.sixtofour is None else [ip.sixtofour]


def _teredo(ip: IPv6) -> list[IPv4]:
    return [] if ip.teredo is None else list(ip.teredo)  # (server, client), de-obfuscated


def _net(text: str) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(text)


# ::a.b.c.d, deprecated by RFC 4291; Linux's sit0 still tunnels it to the IPv4 address
COMPATIBLE = Carrier("deprecated IPv4-compatible", _net("::/96"), False, _low32)
CARRIERS: tuple[Carrier, ...] = (
    # ::ffff:a.b.c.d, how a dual-stack socket names an IPv4 peer
    Carrier("IPv4-mapped", _net("::ffff:0:0/96"), True, _low32),
    # ::ffff:0:a.b.c.d, SIIT (RFC 2765, obsoleted by RFC 6145)
    Carrier("SIIT IPv4-translated", _net("::ffff:0:0:0/96"), False, _low32),
    COMPATIBLE,
    # 2002:AABB:CCDD::/48 (RFC 3056): 6to4 relays send it to AA.BB.CC.DD
    Carrier("6to4", _net("2002::/16"), True, _sixtofour),
    # 2001:0:<server>:<flags>:<port>:<client, inverted> (RFC 4380)
    Carrier("Teredo", _net("2001::/32"), True, _teredo),
    # 64:ff9b::a.b.c.d, NAT64's well-known prefix (RFC 6052): the translator connects to it
    Carrier("NAT64", _net("64:ff9b::/96"), True, _low32),
    # 64:ff9b:1::/48 (RFC 8215), not globally reachable; a /96 inside it is the usual layout
    Carrier("NAT64 local-use", _net("64:ff9b:1::/48"), False, _low32),
)
# an ISATAP interface id (RFC 5214): [0-3]00:5efe:a.b.c.d under any prefix (so no network of
# its own); the prefix routes it, but a host with an ISATAP tunnel for that prefix sends it
# to the IPv4 address
ISATAP = Carrier("ISATAP", _net("::/0"), False, _low32)
# :: and ::1 are the unspecified and loopback addresses, not IPv4-compatible ones
_NOT_COMPATIBLE = (IPv6("::"), IPv6("::1"))


def carrier_of(ip: IPv6) -> Carrier | None:
    """The form of `ip` that carries IPv4 addresses, if it is one."""
    for carrier in CARRIERS:
        if ip in carrier.network:
            if carrier is COMPATIBLE and ip in _NOT_COMPATIBLE:
                return None
            return carrier
    if (int(ip) >> 32) & 0xFCFFFFFF == 0x00005EFE:
        return ISATAP
    return None


def embedded_ipv4(ip: IPv6) -> list[IPv4]:
    """Every IPv4 address inside `ip` (none for an address that carries none)."""
    carrier = carrier_of(ip)
    return [] if carrier is None else carrier.extract(ip)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an address must not be called: `why` as in "a loopback address"; `detail` names
    the address and, when the IPv4 address inside it decided, that one."""

    why: str
    detail: str


def _own_reason(ip: IPv4 | IPv6) -> str | None:
    # most specific first: link-local and reserved ranges are also "private" to ipaddress
    for flag in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    if not ip.is_global:
        return "non-global"
    return None


def refusal(address: str) -> Refusal | None:
    """Why `address` must not be called (None when it may).

    An address that carries IPv4 (`CARRIERS`, `ISATAP`) is refused when any IPv4 address
    inside it is not global. Carrying only global IPv4, a mapped, 6to4, Teredo or NAT64
    address is allowed (its prefix says nothing about where it leads, and what ipaddress says
    about it differs between Python versions); the other forms must pass as themselves too.
    Any other address must be global. A zone id (`fe80::1%eth0`) does not change the verdict.
    """
    text = address.split("%", 1)[0]
    ip = ipaddress.ip_address(text)
    if isinstance(ip, IPv6):
        carrier = carrier_of(ip)
        if carrier is not None:
            for inside in carrier.extract(ip):
                why = _own_reason(inside)
                if why is not None:
                    return Refusal(why, f"{inside} inside the {carrier.name} address {text}")
            if carrier.by_ipv4_alone:
                return None
            why = _own_reason(ip)
            return None if why is None else Refusal(why, f"{text}, a {carrier.name} address")
    why = _own_reason(ip)
    return None if why is None else Refusal(why, text)


def non_global_reason(address: str) -> str | None:
    """Why an address must not be called, in one word (None when it may): see `refusal`."""
    found = refusal(address)
    return None if found is None else found.why
