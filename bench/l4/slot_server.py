#!/usr/bin/env python3
"""slot_server.py: an HTTP/1.1 backend of fixed capacity, for bench/l4_e2e.sh --backend slots.

It serves at most SLOTS requests at once, each taking SERVICE_MS of waiting (not of CPU),
and queues the rest in arrival order: a server whose capacity is its own, independent of
the CPUs it shares with the client and the load balancer. Two of them make the quality of
a load balancer's choice measurable on a 2-CPU machine. With nginx the backends' capacity
is those two CPUs, shared with everything else: the perfect split's tail swings tenfold
between rounds with how the processes happen to settle on the CPUs, and pinning both
nginx to one CPU makes them one resource, where any split is as good as another. Here a
connection placed on the fuller server waits for a slot, whatever the CPUs do.

Answers "NAME\\n" to any request; keeps connections open unless the request says
"Connection: close".

Usage: slot_server.py --bind ADDR [--bind ADDR...] --port P --slots N --service-ms MS --name NAME
"""
import argparse
import asyncio
import socket
import sys


def response(name, close):
    body = (name + "\n").encode()
    head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n" % len(body)
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


async def serve(reader, writer, slots, service, answers):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            close = b"connection: close" in head.lower()
            async with slots:
                await asyncio.sleep(service)
            writer.write(answers[close])
            await writer.drain()
            if close:
                return
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", action="append", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--slots", type=int, required=True)
    ap.add_argument("--service-ms", type=float, required=True)
    ap.add_argument("--name", required=True)
    a = ap.parse_args()
    if a.slots < 1 or a.service_ms <= 0:
        sys.exit("--slots must be 1 or more and --service-ms above 0")
    slots = asyncio.Semaphore(a.slots)
    answers = {False: response(a.name, False), True: response(a.name, True)}
    servers = []
    for addr in a.bind:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        servers.append(await asyncio.start_server(
            lambda r, w: serve(r, w, slots, a.service_ms / 1000, answers),
            addr, a.port, family=family, backlog=4096, reuse_address=True))
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
