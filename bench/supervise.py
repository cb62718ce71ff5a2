#!/usr/bin/env python3
"""runsv/sv benchmark (issue 2): ours against Debian's runit 2.1.2 in one run, as ratios.

Usage: bench/supervise.py [--services N] [--status-services N] [--tries N]
Needs: scripts/build-dist and scripts/fetch-ref. Run as root.

Measures
  1. runsv memory per supervised service: USS (Private_Clean+Private_Dirty) and RSS from
     /proc/PID/smaps_rollup, averaged over N runsv processes.
  2. restart latency after SIGKILL of a service that ran > 1 s: kill -> new pid published.
  3. `sv -w 7 down` and `sv -w 7 up` on a service that obeys at once: wall time, median.
  4. `sv status` over 1000 services in one call: CPU time (user+sys of the sv process).
  5. stripped binary sizes.
"""
import argparse, os, resource, shutil, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = os.path.join(ROOT, "target", "dist", "bin")
REF = os.path.join(ROOT, "ref", "root", "usr", "bin")
PROGS = ["runsv", "sv", "runsvdir", "runsvchdir", "runit", "runit-init", "svlogd", "chpst", "utmpset"]


def ref_path(p):
    for d in ("usr/bin", "usr/sbin", "sbin"):
        q = os.path.join(ROOT, "ref", "root", d, p)
        if os.path.exists(q):
            return q
    return None


def make_service(root, name, body="exec sleep 100000"):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "run"), "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(os.path.join(d, "run"), 0o755)
    return d


def alive(svc):
    try:
        fd = os.open(os.path.join(svc, "supervise/ok"), os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        return True
    except OSError:
        return False


def pid_of(svc):
    try:
        with open(os.path.join(svc, "supervise/status"), "rb") as f:
            b = f.read()
        if len(b) == 20 and b[19] == 1:
            return int.from_bytes(b[12:16], "little")
    except OSError:
        pass
    return 0


def wait(cond, secs=20):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.002)
    raise SystemExit("benchmark: timed out")


def start_tree(runsv, n, root, body="exec sleep 100000"):
    procs = []
    svcs = []
    for i in range(n):
        s = make_service(root, "s%04d" % i, body)
        svcs.append(s)
        procs.append(subprocess.Popen([runsv, s], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
    for s in svcs:
        wait(lambda: alive(s) and pid_of(s) != 0)
    return procs, svcs


def stop_tree(procs):
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for p in procs:
        p.wait()


def smaps(pid):
    uss = rss = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Private_Clean", "Private_Dirty"):
                uss += int(v.split()[0])
            elif k == "Rss":
                rss += int(v.split()[0])
    return uss, rss


def memory(runsv, n):
    with tempfile.TemporaryDirectory() as root:
        procs, _ = start_tree(runsv, n, root)
        try:
            u = r = 0
            for p in procs:
                a, b = smaps(p.pid)
                u += a
                r += b
            return u / n, r / n
        finally:
            stop_tree(procs)


def restart_latency(runsv, tries):
    with tempfile.TemporaryDirectory() as root:
        procs, svcs = start_tree(runsv, 1, root)
        s = svcs[0]
        out = []
        try:
            for _ in range(tries):
                time.sleep(1.1)  # the service must have run > 1 s (no restart throttle)
                old = pid_of(s)
                t0 = time.perf_counter()
                os.kill(old, signal.SIGKILL)
                while True:
                    p = pid_of(s)
                    if p and p != old:
                        break
                out.append(time.perf_counter() - t0)
            return statistics.median(out) * 1000, max(out) * 1000
        finally:
            stop_tree(procs)


def sv_roundtrip(runsv, sv, tries):
    with tempfile.TemporaryDirectory() as root:
        procs, svcs = start_tree(runsv, 1, root)
        s = svcs[0]
        downs, ups = [], []
        try:
            for _ in range(tries):
                # runsv's 1-second rule delays the restart of a ./run that lived < 1 s (in
                # both implementations): let it live longer so `up` measures sv and runsv.
                time.sleep(1.1)
                for cmd, acc in (("down", downs), ("up", ups)):
                    t0 = time.perf_counter()
                    subprocess.run([sv, "-w", "7", cmd, s], stdout=subprocess.DEVNULL, check=True)
                    acc.append(time.perf_counter() - t0)
            return statistics.median(downs) * 1000, statistics.median(ups) * 1000
        finally:
            stop_tree(procs)


def sv_status_cpu(sv, svcs, root, tries):
    names = [os.path.basename(s) for s in svcs]
    best = None
    for _ in range(tries):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sv, "status"] + names, stdout=subprocess.DEVNULL, check=True,
                       env=dict(os.environ, SVDIR=root))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = cpu if best is None else min(best, cpu)
    return best * 1000


def stripped_size(path):
    with tempfile.NamedTemporaryFile() as t:
        shutil.copy(path, t.name)
        subprocess.run(["strip", t.name], check=True)
        return os.path.getsize(t.name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=200)
    ap.add_argument("--status-services", type=int, default=1000)
    ap.add_argument("--tries", type=int, default=20)
    a = ap.parse_args()
    ours = {p: os.path.join(OURS, p) for p in PROGS}
    ref = {p: ref_path(p) for p in PROGS}
    for p in ("runsv", "sv"):
        if not os.path.exists(ours[p]):
            raise SystemExit("build first: scripts/build-dist")
        if not ref[p]:
            raise SystemExit("fetch the reference first: scripts/fetch-ref")

    def row(name, r, o, unit, lower_better=True):
        ratio = o / r if r else float("nan")
        print("%-44s %10.2f %10.2f %s   ours/runit = %.2f" % (name, r, o, unit, ratio))

    print("%-44s %10s %10s" % ("", "runit", "runit-rs"))
    ru, rr = memory(ref["runsv"], a.services)
    ou, orr = memory(ours["runsv"], a.services)
    row("runsv USS per service (%d services)" % a.services, ru, ou, "KiB")
    row("runsv RSS per service", rr, orr, "KiB")
    rm, rx = restart_latency(ref["runsv"], a.tries)
    om, ox = restart_latency(ours["runsv"], a.tries)
    row("restart after SIGKILL, median", rm, om, "ms")
    row("restart after SIGKILL, max", rx, ox, "ms")
    rd, ru_ = sv_roundtrip(ref["runsv"], ref["sv"], max(5, a.tries // 2))
    od, ou_ = sv_roundtrip(ours["runsv"], ours["sv"], a.tries)
    row("sv -w 7 down, median", rd, od, "ms")
    row("sv -w 7 up, median", ru_, ou_, "ms")
    with tempfile.TemporaryDirectory() as root:
        procs, svcs = start_tree(ours["runsv"], a.status_services, root)
        try:
            rs = sv_status_cpu(ref["sv"], svcs, root, 5)
            os_ = sv_status_cpu(ours["sv"], svcs, root, 5)
        finally:
            stop_tree(procs)
    row("sv status, %d services, CPU (best of 5)" % a.status_services, rs, os_, "ms")
    rt = sum(stripped_size(p) for p in ref.values() if p)
    ot = sum(stripped_size(p) for p in ours.values() if os.path.exists(p))
    row("stripped size, nine programs", rt / 1024, ot / 1024, "KiB")
    multi = os.path.join(OURS, "runit-rs")  # dynamic (chpst inside)
    if os.path.exists(multi):
        print("%-44s %10s %10.2f KiB (one multicall binary for all nine)" % ("stripped size, runit-rs multicall", "", stripped_size(multi) / 1024))


if __name__ == "__main__":
    main()
