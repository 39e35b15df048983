#!/usr/bin/python3
"""Just enough of systemd's service manager to restart lbd with its descriptor store.

  fake_systemd.py --dir D --restarts N [--control-socket PATH] [--gate FILE]
                  [--fdstore-max N] -- lbd ARGS...

Runs lbd as a Type=notify service with NOTIFY_SOCKET and FDSTORE set (FileDescriptorStoreMax=):
it keeps what lbd stores (FDSTORE=1 with FDNAME=, FDSTOREREMOVE=1), answers BARRIER=1, and
each time lbd exits, for any reason, starts it again (Restart=always) with the stored
descriptors passed as LISTEN_FDS/LISTEN_FDNAMES, as systemd does for a restart. Like
systemd, it drops a stored descriptor that polls EPOLLHUP or EPOLLERR (every BPF map but a
ring buffer does, a reset socket too) unless it came with FDPOLL=0. With
--control-socket it also plays lbd.socket: it binds PATH and passes it first, named
"lbd.socket", to every run. D/pid holds the running lbd's pid, D/ready.N appears when
run N says READY=1, D/store lists the stored names after each message. After N
restarts the last lbd is left to exit on its own; then this exits with its status. With
--gate, a restart waits while FILE exists (at most GATE_MAX_S): a test holds the moment
when no lbd runs for as long as it needs (a real restart takes seconds). --fdstore-max:
FileDescriptorStoreMax= (default 64); like systemd, a full store closes what comes next.
"""
import argparse
import array
import os
import select
import signal
import socket
import subprocess
import sys
import time

MAX_FDS = 64  # FileDescriptorStoreMax=; --fdstore-max N
GATE_MAX_S = 60


def main():
    global MAX_FDS
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--restarts", type=int, required=True)
    p.add_argument("--control-socket")
    p.add_argument("--gate")
    p.add_argument("--fdstore-max", type=int, default=MAX_FDS)
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    MAX_FDS = a.fdstore_max
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    notify_path = os.path.join(a.dir, "notify")
    try:
        os.unlink(notify_path)
    except FileNotFoundError:
        pass
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.setblocking(False)
    control = None
    if a.control_socket:
        control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(a.control_socket)
        except FileNotFoundError:
            pass
        control.bind(a.control_socket)
        control.listen(128)
    store = []  # [(name, fd)] in the order stored
    polled = set()  # stored descriptors without FDPOLL=0
    runs = 0
    status = 0
    signal.signal(signal.SIGTERM, lambda *_: None)
    while True:
        passed = ([("lbd.socket", control.fileno())] if control else []) + store
        child = start(cmd, notify_path, passed)
        with open(os.path.join(a.dir, "pid"), "w") as f:
            f.write("%d\n" % child.pid)
        while child.poll() is None:
            serve_notify(notify, store, polled, a.dir, runs)
            time.sleep(0.005)
        serve_notify(notify, store, polled, a.dir, runs)  # what it sent just before exiting
        status = child.returncode
        runs += 1
        if runs > a.restarts:
            break
        end = time.monotonic() + GATE_MAX_S
        while a.gate and os.path.exists(a.gate) and time.monotonic() < end:
            serve_notify(notify, store, polled, a.dir, runs)
            time.sleep(0.05)
    for _, fd in store:
        os.close(fd)
    sys.exit(0 if status == 0 else 1)


def start(cmd, notify_path, passed):
    """lbd with the passed descriptors at 3, 4, ... and LISTEN_* saying so."""
    env = dict(os.environ)
    env["NOTIFY_SOCKET"] = notify_path
    env["FDSTORE"] = str(MAX_FDS)
    fds = [fd for _, fd in passed]
    if fds:
        env["LISTEN_FDS"] = str(len(fds))
        env["LISTEN_FDNAMES"] = ":".join(name for name, _ in passed)

    def place():
        # Through a range nothing uses, so that no source is overwritten on the way.
        high = [os.dup(fd) for fd in fds]
        high = [os.dup2(fd, 200 + i) for i, fd in enumerate(high)]
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i, inheritable=True)
            os.close(fd)

    # LISTEN_PID must be lbd's own pid: a shell that execs lbd keeps its pid ($$).
    return subprocess.Popen(["/bin/sh", "-c", 'export LISTEN_PID=$$; exec "$@"', "sh"] + cmd, env=env,
                            preexec_fn=place, pass_fds=tuple(range(3, 3 + len(fds))))


def errored(fd):
    p = select.poll()
    p.register(fd, 0)
    return any(ev & (select.POLLHUP | select.POLLERR) for _, ev in p.poll(0))


def serve_notify(notify, store, polled, d, run):
    while True:
        fds = array.array("i")
        try:
            msg, anc, _, _ = notify.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
        except BlockingIOError:
            return
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
        fields = dict(line.split("=", 1) for line in msg.decode().split("\n") if "=" in line)
        if fields.get("READY") == "1":
            open(os.path.join(d, "ready.%d" % run), "w").close()
        if fields.get("BARRIER") == "1":
            for fd in fds:
                os.close(fd)  # systemd closes it once it has handled what came before
            continue
        if fields.get("FDSTORE") == "1":
            name = fields.get("FDNAME", "stored")
            for fd in fds:
                # systemd drops a descriptor of a file it already stores (kcmp); here:
                # one of the same name and inode (BPF maps all share one anon inode).
                if len(store) < MAX_FDS and not any(n == name and same(fd, s)
                                                    for n, s in store):
                    store.append((name, fd))
                    if fields.get("FDPOLL") != "0":
                        polled.add(fd)
                else:
                    os.close(fd)
        else:
            for fd in fds:
                os.close(fd)
        if fields.get("FDSTOREREMOVE") == "1":
            name = fields.get("FDNAME")
            for entry in [e for e in store if e[0] == name]:
                store.remove(entry)
                polled.discard(entry[1])
                os.close(entry[1])
        for entry in [e for e in store if e[1] in polled and errored(e[1])]:
            store.remove(entry)  # systemd: "Received EPOLLERR on stored fd, closing"
            polled.discard(entry[1])
            os.close(entry[1])
        with open(os.path.join(d, "store"), "w") as f:
            f.write("\n".join(name for name, _ in store) + "\n")


def same(a, b):
    sa, sb = os.fstat(a), os.fstat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


if __name__ == "__main__":
    main()
