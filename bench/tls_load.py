#!/usr/bin/python3
"""TLS new-connection load generator (standard library only).

  tls_load.py --host IP --port P --sni NAME [--path /small] [--conc 8] [--seconds 10]

Starts --conc worker processes; each loops connect + full TLS handshake (no session
resumption) + one HTTP/1.1 GET with "Connection: close" + read to EOF + close, until the
deadline. Prints one JSON line: {"ok", "failed", "seconds", "cps", "errors"} where cps is
completed connections per second over the measured wall time. Bounded: every socket
operation has a timeout, and no new connection starts after the deadline.
"""
import argparse
import json
import multiprocessing as mp
import socket
import ssl
import time


def worker(args, deadline, out):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
           % (args.path, args.sni)).encode()
    ok = failed = 0
    errors = {}
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((args.host, args.port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname=args.sni) as tls:
                    tls.sendall(req)
                    data = b""
                    while True:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if not data.startswith(b"HTTP/1.1 200"):
                        raise ValueError("bad answer %r" % data[:40])
            ok += 1
        except (OSError, ValueError) as e:
            # An unclean TLS close after the full answer still counts as a failure:
            # nginx closes cleanly, so such errors point at the path in between.
            failed += 1
            key = type(e).__name__ + ": " + str(e)[:80]
            errors[key] = errors.get(key, 0) + 1
            time.sleep(0.01)
    out.put((ok, failed, errors))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--sni", required=True)
    p.add_argument("--path", default="/small")
    p.add_argument("--conc", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10)
    args = p.parse_args()
    out = mp.Queue()
    start = time.monotonic()
    deadline = start + args.seconds
    procs = [mp.Process(target=worker, args=(args, deadline, out)) for _ in range(args.conc)]
    for pr in procs:
        pr.start()
    ok = failed = 0
    errors = {}
    for _ in procs:
        o, f, e = out.get(timeout=args.seconds + 30)
        ok += o
        failed += f
        for k, v in e.items():
            errors[k] = errors.get(k, 0) + v
    for pr in procs:
        pr.join(5)
    elapsed = time.monotonic() - start
    print(json.dumps({"ok": ok, "failed": failed, "seconds": round(elapsed, 3),
                      "cps": round(ok / elapsed, 1), "errors": errors}))


if __name__ == "__main__":
    main()
