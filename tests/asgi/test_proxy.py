"""Proxy headers: who is believed, and what they are believed to say."""

from __future__ import annotations

import pytest

from asgihost.asgi.proxy import ProxyPolicy
from asgihost.asgi.scope import ConnectionInfo

PEER = ConnectionInfo(("127.0.0.1", 8000), ("10.0.0.5", 40000), "http")


def resolve(policy: ProxyPolicy, *headers: tuple[bytes, bytes]) -> tuple[tuple[str, int] | None, str]:
    info = policy.apply(PEER, list(headers))
    return info.client, info.scheme


def test_trust_by_address_network_unix_and_star():
    policy = ProxyPolicy(["10.0.0.0/8", "192.168.1.1", "2001:db8::/32"])
    assert policy.trusts("10.1.2.3") and policy.trusts("192.168.1.1") and policy.trusts("2001:db8::7")
    assert not policy.trusts("192.168.1.2") and not policy.trusts("unknown") and not policy.trusts("::1")
    assert not policy.trusts_peer(ConnectionInfo(None, None, "http"))  # a Unix-socket peer
    assert ProxyPolicy(["unix"]).trusts_peer(ConnectionInfo(None, None, "http"))
    assert ProxyPolicy(["*"]).trusts("203.0.113.9") and ProxyPolicy(["*"]).trusts_peer(PEER)


def test_x_forwarded_for_walks_from_the_right_past_trusted_hops():
    policy = ProxyPolicy(["10.0.0.0/8"])
    hops = (b"x-forwarded-for", b"203.0.113.7, 198.51.100.2, 10.0.0.3")
    assert resolve(policy, hops) == (("198.51.100.2", 0), "http")  # the first untrusted from the right
    everyone = ProxyPolicy(["*"])
    assert resolve(everyone, hops) == (("203.0.113.7", 0), "http")  # all trusted: the leftmost


def test_several_header_lines_are_one_list_not_last_wins():
    policy = ProxyPolicy(["10.0.0.0/8"])
    client, _ = resolve(
        policy, (b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-for", b"10.0.0.9, 10.0.0.3")
    )
    assert client == ("203.0.113.7", 0)
    client, _ = resolve(policy, (b"x-forwarded-for", b"10.0.0.9"), (b"x-forwarded-for", b"198.51.100.1"))
    assert client == ("198.51.100.1", 0)


def test_x_forwarded_proto():
    policy = ProxyPolicy(["10.0.0.0/8"])
    assert resolve(policy, (b"x-forwarded-proto", b"https")) == (PEER.client, "https")
    assert (
        resolve(policy, (b"x-forwarded-for", b"203.0.113.7, 10.0.0.2"), (b"x-forwarded-proto", b"HTTPS"))[1]
        == "https"
    )
    # one scheme per hop: the client's own
    assert (
        resolve(
            policy, (b"x-forwarded-for", b"203.0.113.7, 10.0.0.2"), (b"x-forwarded-proto", b"https, http")
        )[1]
        == "https"
    )
    assert resolve(policy, (b"x-forwarded-proto", b"gopher")) == (PEER.client, "http")  # not a scheme we know


def test_forwarded_rfc_7239():
    policy = ProxyPolicy(["10.0.0.0/8"], "forwarded")
    value = b'for=203.0.113.60;proto=https;by=10.0.0.1, for="[2001:db8:cafe::17]:4711", for=10.0.0.2'
    assert resolve(policy, (b"forwarded", value)) == (("2001:db8:cafe::17", 0), "http")
    value = b'for="198.51.100.17:8080";proto=https, for=10.0.0.4'
    assert resolve(policy, (b"forwarded", value)) == (("198.51.100.17", 0), "https")
    assert resolve(policy, (b"forwarded", b'for="_hidden";proto=https')) == (("_hidden", 0), "https")
    quoted = b'for="10.0.0.8";proto="https";host="a,b;c", for=10.0.0.9'
    assert resolve(ProxyPolicy(["*"], "forwarded"), (b"forwarded", quoted)) == (("10.0.0.8", 0), "https")
    # x-forwarded headers are not read when the listener speaks Forwarded
    assert resolve(policy, (b"x-forwarded-for", b"203.0.113.7")) == (PEER.client, "http")


@pytest.mark.parametrize(
    "headers",
    [(), ((b"x-forwarded-for", b""),), ((b"x-forwarded-for", b" , "),), ((b"user-agent", b"x"),)],
)
def test_no_usable_header_leaves_the_connection_as_it_is(headers):
    assert ProxyPolicy(["*"]).apply(PEER, list(headers)) is PEER
