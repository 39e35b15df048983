#!/usr/bin/python3
"""cpu_sample.py STATE OURPID NETNS_INODE...: CPU used between two calls, for l4_e2e.sh.

Prints "busy total foreign top" in clock ticks since the snapshot in STATE (zeros and "-"
when STATE does not exist yet), then stores a new snapshot there.

  busy     user + nice + system + irq + softirq of all CPUs (/proc/stat)
  total    busy + idle + iowait + steal
  foreign  user + system of processes that are neither in one of the benchmark's network
           namespaces (NETNS_INODE: inodes of /run/netns/NAME) nor OURPID or below it,
           kernel threads excluded (ksoftirqd and kworkers do the benchmark's packet work);
           with their reaped children's (cutime, cstime), so that short-lived processes
           such as a compiler's are counted at their parent
  top      the foreign process that used most, as "name:ticks", or "-"

/proc/stat is machine-wide, so other work on the machine lands in "busy"; "foreign" shows
how much, as far as it runs in processes (softirq work it causes is not attributed).
A process alive at the first call and reaped since shows up in its parent's cutime with
its whole life: what it had used at the first call is taken off again. A process whose
parent is not counted (the benchmark's) is lost when it exits: "foreign" is an estimate,
good for telling a quiet run from a disturbed one.
"""
import json
import os
import sys

PF_KTHREAD = 0x00200000


def cpu_line():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6]
    return busy, busy + v[3] + v[4] + v[7]


def processes(ours, ourpid):
    info = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
            net = os.stat("/proc/%s/ns/net" % d).st_ino
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        # fields after the name: state ppid ... flags(9) ... utime(14) stime(15) cutime(16)
        # cstime(17) ... starttime(22), numbered as in proc(5)
        ppid, flags = int(f[1]), int(f[6])
        info[int(d)] = (ppid, flags, net, name, sum(int(x) for x in f[11:15]), f[19])
    procs = {}
    for pid, (ppid, flags, net, name, ticks, start) in info.items():
        if flags & PF_KTHREAD or net in ours:
            continue
        p, mine = pid, False
        while p > 1 and p in info:
            if p == ourpid:
                mine = True
                break
            p = info[p][0]
        if not mine:
            procs[str(pid)] = [start, ticks, name, str(ppid)]
    return procs


def main():
    state, ourpid = sys.argv[1], int(sys.argv[2])
    ours = {int(x) for x in sys.argv[3:]}
    with open("/proc/uptime") as f:
        now = int(float(f.read().split()[0]) * os.sysconf("SC_CLK_TCK"))
    busy, total = cpu_line()
    procs = processes(ours, ourpid)
    try:
        with open(state) as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = None
    if old is None:
        print("0 0 0 -")
    else:
        net = {}
        for pid, (start, ticks, name, _) in procs.items():
            prev = old["procs"].get(pid)
            if prev and prev[0] == start:
                net[pid] = ticks - prev[1]
            elif int(start) >= old["now"]:  # started since: all of it is new
                net[pid] = ticks
        foreign = sum(net.values())
        for pid, (start, ticks, _, ppid) in old["procs"].items():
            if pid in procs and procs[pid][0] == start or ppid not in old["procs"]:
                continue
            # Gone, and reaped by a counted process, whose cutime now holds all of it:
            # take off what it had used before, at the nearest ancestor still alive.
            foreign -= ticks
            for _ in range(64):  # bounded: a recycled PID could make a loop
                if ppid in net or ppid not in old["procs"]:
                    break
                ppid = old["procs"][ppid][3]
            if ppid in net:
                net[ppid] -= ticks
        top = max(net.items(), key=lambda kv: kv[1], default=(None, 0))
        print(busy - old["busy"], total - old["total"], max(foreign, 0),
              "%s:%d" % (procs[top[0]][2], top[1]) if top[1] > 0 else "-")
    with open(state, "w") as f:
        json.dump({"now": now, "busy": busy, "total": total, "procs": procs}, f)


if __name__ == "__main__":
    main()
