#!/usr/bin/python3
"""A retransmission that partly overlaps bytes already received, through the SNI splice.

  tcp_overlap.py serve --bind IP --port P [--ready-file F]
        plaintext backend: reads one TLS record (the ClientHello the LB forwards), then
        echoes every further byte.
  tcp_overlap.py client --host VIP --port P --sni NAME [--back N]
        sends a real ClientHello and 20000 pattern bytes, reads their echo, then injects
        (raw socket) one TCP segment that repeats the last N bytes it sent and adds 100
        new ones, then sends 5000 more bytes through its own socket (whose first 100 the
        LB has then received already: a second overlap). Prints {"received", "want",
        "identical", "first_bad"}; a correct receiver delivers each byte once.

Needs root (raw socket, TCP_REPAIR to learn the connection's sequence numbers). Standard
library only.
"""
import argparse
import json
import socket
import ssl
import struct
import sys
import threading
import time

TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ = 19, 20, 21
TCP_RECV_QUEUE, TCP_SEND_QUEUE = 1, 2
IP_MTU_DISCOVER, IP_PMTUDISC_DONT = 10, 0
SENT_FIRST, SENT_AFTER, NEW_IN_SEGMENT = 20000, 5000, 100


def pattern(off, n):
    """Bytes off..off+n of the stream: each 4-byte word is its own offset, big-endian."""
    start = off - off % 4
    words = b"".join(struct.pack("!I", w) for w in range(start, off + n + 4, 4))
    return words[off - start: off - start + n]


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def serve_one(conn):
    try:
        head = recv_exact(conn, 5)
        recv_exact(conn, struct.unpack("!H", head[3:5])[0])
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()


def cmd_serve(args):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.bind, args.port))
    ls.listen(64)
    if args.ready_file:
        open(args.ready_file, "w").close()
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve_one, args=(conn,), daemon=True).start()


def client_hello(sni):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def sequence_numbers(sock):
    """(next sequence number to send, next expected) of a connected socket."""
    sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
        snd = struct.unpack("I", sock.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, 4))[0]
        sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)
        rcv = struct.unpack("I", sock.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, 4))[0]
    finally:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
    return snd, rcv


def inject(sock, host, port, seq, ack, payload):
    src_ip, src_port = sock.getsockname()[:2]
    hdr = struct.pack("!HHIIBBHHH", src_port, port, seq & 0xFFFFFFFF, ack, 5 << 4,
                      0x18, 65535, 0, 0)  # ACK|PSH
    pseudo = socket.inet_aton(src_ip) + socket.inet_aton(host) + struct.pack(
        "!BBH", 0, socket.IPPROTO_TCP, len(hdr) + len(payload))
    hdr = hdr[:16] + struct.pack("!H", checksum(pseudo + hdr + payload)) + hdr[18:]
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    raw.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
    try:
        raw.sendto(hdr + payload, (host, 0))
    finally:
        raw.close()


def cmd_client(args):
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(client_hello(args.sni))
    sock.sendall(pattern(0, SENT_FIRST))
    got = recv_exact(sock, SENT_FIRST)
    time.sleep(0.2)  # the LB's ACK of the last byte is in: nothing of ours in flight
    snd, rcv = sequence_numbers(sock)
    inject(sock, args.host, args.port, snd - args.back, rcv,
           pattern(SENT_FIRST - args.back, args.back + NEW_IN_SEGMENT))
    time.sleep(0.2)
    sock.sendall(pattern(SENT_FIRST, SENT_AFTER))
    want = pattern(0, SENT_FIRST + SENT_AFTER)
    deadline = time.time() + args.timeout
    sock.settimeout(0.5)
    while len(got) < len(want) + args.back + NEW_IN_SEGMENT and time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            if len(got) >= len(want):
                break  # no more is coming: a correct stream ends here
            continue
        if not chunk:
            break
        got += chunk
    sock.close()
    first_bad = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                     None if len(got) == len(want) else min(len(got), len(want)))
    print(json.dumps({"received": len(got), "want": len(want), "identical": got == want,
                      "first_bad": first_bad}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--bind", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--ready-file")
    c = sub.add_parser("client")
    c.add_argument("--host", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--sni", required=True)
    c.add_argument("--back", type=int, default=100)
    c.add_argument("--timeout", type=float, default=10)
    args = ap.parse_args()
    if args.cmd == "client" and not 0 < args.back < 1400:
        ap.error("--back must be 1..1399 (one segment of the test's 1500-byte MTU)")
    return cmd_serve(args) if args.cmd == "serve" else cmd_client(args)


if __name__ == "__main__":
    sys.exit(main())
