#!/usr/bin/env python3
"""Turn what a BGP daemon shows about its received routes into one line per route, the same for
BIRD 2, GoBGP 3 and FRR 8, so that system tests compare plain strings:

    PREFIX nexthop=ADDR aspath=ASN[ ASN...] communities=A:B,C:D large=A:B:C localpref=N

Fields keep this order; an attribute the route does not carry is left out; communities and
large communities are sorted numerically; lines are sorted by prefix. Well-known communities are
printed as numbers (65535:65281, not no-export) whatever name the daemon uses. The next hop is
the global one (an IPv6 next hop may come with a link-local second address, which is dropped).

LOCAL_PREF: it exists only on iBGP sessions (RFC 4271 5.1.5). BIRD attaches its own default (100)
to every route it learns over eBGP, so for BIRD `--ebgp` drops it: what remains is what the peer
sent. FRR 8.4 shows no local preference on eBGP paths (it ignores one received there, as the RFC
says) and GoBGP shows the attribute only when it was received, so both are printed as shown (a
speaker that wrongly sends LOCAL_PREF over eBGP shows up in GoBGP's line).

Input (stdin):
  bird   `birdc show route all table master4|master6` text
  gobgp  `gobgp -j global rib -a ipv4|ipv6` JSON
  frr    the concatenated JSON documents of `show bgp ipv4|ipv6 unicast PREFIX json`, one per
         prefix (the table's own JSON lacks communities)
  frr-prefixes  `show bgp ipv4|ipv6 unicast json`: prints the table's prefixes, one a line

Used by tests/system/lib_bgp.sh (bgp_routes); no test calls it directly.
"""
import ipaddress
import json
import re
import sys

# RFC 1997 / IANA well-known communities under the names the daemons print.
WELL_KNOWN = {
    "no-export": 0xFFFFFF01, "noexport": 0xFFFFFF01,
    "no-advertise": 0xFFFFFF02, "noadvertise": 0xFFFFFF02,
    "local-as": 0xFFFFFF03, "localas": 0xFFFFFF03, "no-export-subconfed": 0xFFFFFF03,
    "no-peer": 0xFFFFFF04, "nopeer": 0xFFFFFF04,
    "blackhole": 0xFFFF029A,
    "graceful-shutdown": 0xFFFF0000, "gracefulshutdown": 0xFFFF0000,
    "accept-own": 0xFFFF0001, "acceptown": 0xFFFF0001,
    "llgr-stale": 0xFFFF0006, "llgrstale": 0xFFFF0006,
    "no-llgr": 0xFFFF0007, "nollgr": 0xFFFF0007,
}


def community_value(text):
    """'64512:100', '(64512,100)', 'noExport' or 4227858532 -> the 32-bit value."""
    if isinstance(text, int):
        return text
    t = text.strip().strip("()").replace(" ", "")
    m = re.fullmatch(r"(\d+)[:,](\d+)", t)
    if m:
        hi, lo = int(m.group(1)), int(m.group(2))
        if hi > 0xFFFF or lo > 0xFFFF:
            raise ValueError("community out of range: %r" % text)
        return hi << 16 | lo
    key = t.lower()
    if key in WELL_KNOWN:
        return WELL_KNOWN[key]
    raise ValueError("unknown community %r" % text)


def large_value(text):
    """'64512:1:2', '(64512, 1, 2)' or {'ASN':..,'LocalData1':..,'LocalData2':..} -> tuple."""
    if isinstance(text, dict):
        return (int(text.get("ASN", 0)), int(text.get("LocalData1", 0)),
                int(text.get("LocalData2", 0)))
    parts = re.split(r"[:,]", text.strip().strip("()").replace(" ", ""))
    if len(parts) != 3:
        raise ValueError("bad large community %r" % text)
    return tuple(int(p) for p in parts)


def line(prefix, nexthop=None, aspath=None, communities=(), large=(), localpref=None):
    out = [str(ipaddress.ip_network(prefix, strict=False))]
    if nexthop:
        out.append("nexthop=%s" % ipaddress.ip_address(nexthop))
    if aspath:
        out.append("aspath=%s" % " ".join(str(a) for a in aspath))
    if communities:
        out.append("communities=%s" % ",".join(
            "%d:%d" % (c >> 16, c & 0xFFFF) for c in sorted(set(communities))))
    if large:
        out.append("large=%s" % ",".join("%d:%d:%d" % l for l in sorted(set(large))))
    if localpref is not None:
        out.append("localpref=%d" % localpref)
    return " ".join(out)


def sort_key(text):
    net = ipaddress.ip_network(text.split(" ", 1)[0])
    return (net.version, net.network_address, net.prefixlen, text)


def parse_bird(text, ebgp):
    """BIRD 2 `show route all`: a route starts with 'PREFIX  unicast [proto ...]' (or, for a
    further route to the same prefix, with whitespace and 'unicast ['); its attributes follow
    as indented 'BGP.name: value' lines. Only routes of Type BGP count."""
    routes, cur, prefix = [], None, None
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("BIRD ") or raw.startswith("Table "):
            continue
        first = raw.split()[0]
        starts_route = not raw[0].isspace() or re.match(r"\s+(unicast|unreachable|blackhole|"
                                                        r"prohibit)\s*\[", raw)
        if starts_route:
            if not raw[0].isspace():
                prefix = first
            cur = {"prefix": prefix, "bgp": False, "attrs": {}}
            routes.append(cur)
            continue
        if cur is None:
            continue
        s = raw.strip()
        if s.startswith("Type:"):
            cur["bgp"] = s.split()[1:2] == ["BGP"]
        m = re.match(r"BGP\.(\w+):\s*(.*)$", s)
        if m:
            cur["attrs"][m.group(1)] = m.group(2).strip()
    out = []
    for r in routes:
        if not r["bgp"]:
            continue
        a = r["attrs"]
        nh = a.get("next_hop", "").split()
        aspath = [int(x) for x in re.findall(r"\d+", a.get("as_path", ""))]
        comms = [community_value(c) for c in re.findall(r"\(\s*\d+\s*,\s*\d+\s*\)",
                                                        a.get("community", ""))]
        large = [large_value(c) for c in re.findall(r"\([^()]*\)", a.get("large_community", ""))]
        lp = None if ebgp or "local_pref" not in a else int(a["local_pref"])
        out.append(line(r["prefix"], nh[0] if nh else None, aspath, comms, large, lp))
    return out


def parse_gobgp(text):
    """`gobgp -j global rib`: {prefix: [path, ...]} where each path has attrs by type number
    (1 ORIGIN, 2 AS_PATH, 3 NEXT_HOP, 5 LOCAL_PREF, 8 COMMUNITIES, 14 MP_REACH_NLRI,
    32 LARGE_COMMUNITY). Locally originated paths (no neighbor) are skipped."""
    text = text.strip()
    if not text:
        return []
    doc = json.loads(text)
    out = []
    for prefix, paths in sorted(doc.items()):
        for p in paths:
            if p.get("source-id") in (None, "", "<nil>") and not p.get("neighbor-ip"):
                continue
            nh, aspath, comms, large, lp = None, [], [], [], None
            for a in p.get("attrs", []):
                t = a.get("type")
                if t == 3:
                    nh = a.get("nexthop")
                elif t == 14:
                    nh = a.get("nexthop") or nh
                    if isinstance(nh, list):
                        nh = nh[0]
                elif t == 2:
                    for seg in a.get("as_paths", []):
                        aspath.extend(seg.get("asns", []))
                elif t == 5:
                    lp = a.get("value")
                elif t == 8:
                    comms.extend(a.get("communities", []))
                elif t == 32:
                    large.extend(large_value(c) for c in a.get("value", []))
            if nh is None:
                nh = p.get("nexthop")
            out.append(line(prefix, nh, aspath, comms, large, lp))
    return out


def json_docs(text):
    """Several JSON documents one after the other (vtysh with one -c per prefix)."""
    dec, i, docs = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return docs
        doc, i = dec.raw_decode(text, i)
        docs.append(doc)


def parse_frr(text):
    out = []
    for doc in json_docs(text):
        prefix = doc.get("prefix")
        if not prefix:
            continue  # "% Network not in table": the route went away between the two queries
        for p in doc.get("paths", []):
            hops = [h for h in p.get("nexthops", []) if h.get("scope", "global") == "global"]
            nh = hops[0].get("ip") if hops else None
            aspath = []
            for seg in (p.get("aspath") or {}).get("segments", []):
                aspath.extend(seg.get("list", []))
            comms = [community_value(c) for c in (p.get("community") or {}).get("list", [])]
            large = [large_value(c) for c in (p.get("largeCommunity") or {}).get("list", [])]
            # "locPrf" in FRR 8.4, "localpref" in some other releases; absent on eBGP paths.
            lp = p.get("locPrf", p.get("localpref"))
            out.append(line(prefix, nh, aspath, comms, large, lp))
    return out


def frr_prefixes(text):
    text = text.strip()
    if not text:
        return []
    return sorted((json.loads(text).get("routes") or {}).keys())


def main():
    args = sys.argv[1:]
    if not args or args[0] not in ("bird", "gobgp", "frr", "frr-prefixes"):
        sys.exit("usage: normalize.py bird [--ebgp] | gobgp | frr | frr-prefixes < INPUT")
    ebgp = "--ebgp" in args[1:]
    text = sys.stdin.read()
    try:
        if args[0] == "frr-prefixes":
            print("\n".join(frr_prefixes(text)))
            return
        lines = {"bird": lambda: parse_bird(text, ebgp), "gobgp": lambda: parse_gobgp(text),
                 "frr": lambda: parse_frr(text)}[args[0]]()
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        sys.exit("normalize.py %s: cannot parse the daemon's output: %s" % (args[0], e))
    for l in sorted(lines, key=sort_key):
        print(l)


if __name__ == "__main__":
    main()
