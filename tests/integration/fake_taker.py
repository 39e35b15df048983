#!/usr/bin/python3
"""A next lbd that asks for a hand-over and then misbehaves (tests of lbd --takeover).

  fake_taker.py BPFFS INSTANCE SOCKET ABI --records N
        asks the lbd running INSTANCE for everything, reads N records, then hangs up
        without confirming; prints {"records": [kinds...], "descriptors": n}.
  fake_taker.py BPFFS INSTANCE SOCKET ABI --records 0
        asks with ABI as its BPF ABI; prints the first record's JSON (a refusal).
"""
import argparse
import array
import json
import os
import socket
import struct

MAGIC = 0x6c626472


def endpoint(bpffs, instance):
    h = 1469598103934665603
    for b in ("%s/lbd/%s" % (os.path.realpath(bpffs), instance)).encode():
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "\0lbd-handover-%016x" % h


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def recv_record(s):
    fds = array.array("i")
    msg, anc, _, _ = s.recvmsg(16, socket.CMSG_SPACE(8 * fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    msg += recv_exact(s, 16 - len(msg))
    magic, jlen, blen, _ = struct.unpack("=IIII", msg)
    assert magic == MAGIC, hex(magic)
    meta = json.loads(recv_exact(s, jlen))
    recv_exact(s, blen)
    for fd in fds:
        os.close(fd)
    return meta, len(fds)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bpffs")
    p.add_argument("instance")
    p.add_argument("socket")
    p.add_argument("abi", type=int)
    p.add_argument("--records", type=int, required=True)
    a = p.parse_args()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(endpoint(a.bpffs, a.instance))
    req = json.dumps({"kind": "take", "protocol": 1, "abi": a.abi, "socket": a.socket}).encode()
    s.sendall(struct.pack("=IIII", MAGIC, len(req), 0, 0) + req)
    if a.records == 0:
        print(json.dumps(recv_record(s)[0]))
        return
    kinds, n_fds = [], 0
    for _ in range(a.records):
        meta, n = recv_record(s)
        kinds.append(meta["kind"])
        n_fds += n
    s.close()  # no "ack": the running lbd must carry on
    print(json.dumps({"records": kinds, "descriptors": n_fds}))


if __name__ == "__main__":
    main()
