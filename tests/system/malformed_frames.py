#!/usr/bin/python3
"""Send bursts of malformed frames at Portico from the client namespace (scapy, raw sendp).

Each kind is a frame Portico must drop under one named reason (nf/drop_reason.h) without
answering, crashing or punting it. Prints one JSON object: {kind: frames sent}, so the test can
compare it with the drop counters in the stats line.

usage: malformed_frames.py --iface eth0 --dst-mac MAC --src-mac MAC --src4 IP --src6 IP
                           --vip4 IP --vip6 IP [--count N]
"""
import argparse
import json
import logging
import os

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ARP, ICMP, IP, Ether, IPv6, Raw, conf, sendp  # noqa: E402
from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr  # noqa: E402

BROADCAST = "ff:ff:ff:ff:ff:ff"


def solicited_node(ip6):
    """ff02::1:ffXX:XXXX and its multicast MAC for an IPv6 address."""
    import ipaddress
    low = ipaddress.IPv6Address(ip6).packed[-3:]
    addr = ipaddress.IPv6Address(bytes.fromhex("ff02" + "00" * 9 + "01ff") + low)
    mac = "33:33:ff:" + ":".join(f"{b:02x}" for b in low)
    return str(addr), mac


def frames(a):
    eth = Ether(src=a.src_mac, dst=a.dst_mac)
    icmp = ICMP(type=8, id=0x5043, seq=1) / Raw(b"portico-malformed")
    out = {}

    # ARP cut after 20 of its 28 bytes (to a VIP, broadcast like a real request).
    arp = bytes(ARP(op=1, hwsrc=a.src_mac, psrc=a.src4, pdst=a.vip4))[:20]
    out["arp_truncated"] = (Ether(src=a.src_mac, dst=BROADCAST, type=0x0806) / Raw(arp),
                            "arp_malformed")

    # IPv4 header length 3 words (< 5).
    out["ipv4_bad_ihl"] = (eth / IP(src=a.src4, dst=a.vip4, ihl=3) / icmp, "ipv4_malformed")

    # IPv4 total length far beyond the frame.
    out["ipv4_long_total_length"] = (eth / IP(src=a.src4, dst=a.vip4, len=1400) / icmp,
                                     "ipv4_malformed")

    # IPv4 header checksum wrong (everything else valid), to a VIP.
    good = IP(bytes(IP(src=a.src4, dst=a.vip4) / icmp))
    out["ipv4_bad_checksum"] = (eth / IP(src=a.src4, dst=a.vip4, chksum=good.chksum ^ 0x5a5a) / icmp,
                                "ipv4_bad_checksum")

    # ICMPv6 of 2 bytes (no room for a checksum) to a VIP.
    out["icmpv6_short"] = (eth / IPv6(src=a.src6, dst=a.vip6, nh=58, plen=2) / Raw(b"\x80\x00"),
                           "icmpv6_malformed")

    # Neighbor Solicitation for a VIP with hop limit 64 (RFC 4861 7.1.1 requires 255).
    group, group_mac = solicited_node(a.vip6)
    out["ns_hop_limit_64"] = (Ether(src=a.src_mac, dst=group_mac) /
                              IPv6(src=a.src6, dst=group, hlim=64) /
                              ICMPv6ND_NS(tgt=a.vip6) / ICMPv6NDOptSrcLLAddr(lladdr=a.src_mac),
                              "ndp_invalid")

    # Garbage behind an ethertype nobody speaks (IEEE 802 local experimental 0x88b5).
    out["unknown_ethertype"] = (Ether(src=a.src_mac, dst=a.dst_mac, type=0x88B5) /
                                Raw(os.urandom(46)), "unsupported_ethertype")
    return out


def main():
    p = argparse.ArgumentParser()
    for name in ("iface", "dst-mac", "src-mac", "src4", "src6", "vip4", "vip6"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--count", type=int, default=30, help="frames of each kind (1..500)")
    a = p.parse_args()
    if not 1 <= a.count <= 500:
        p.error("--count must be within 1..500")
    conf.verb = 0
    sent = {}
    reasons = {}
    for kind, (frame, reason) in frames(a).items():
        sendp([frame] * a.count, iface=a.iface, verbose=False)
        sent[kind] = a.count
        reasons[reason] = reasons.get(reason, 0) + a.count
    print(json.dumps({"sent": sent, "by_reason": reasons}))


if __name__ == "__main__":
    main()
