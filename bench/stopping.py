#!/usr/bin/env python3
"""Stopping benchmark (issue 11): ours against Debian's runit 2.1.2 in one run.

Usage: bench/stopping.py [--tries N] [--services N]
Needs: scripts/build-dist and scripts/fetch-ref. Run as root.

Measures
  1. `sv -w 10 down` on a service that ignores TERM, with `timeout-kill 200` (ours) and
     without (runit has no such setting: its sv times out; measured with -w 2).
  2. A service whose ./run forks 50 descendants (half of them in their own sessions):
     `sv -w 10 down` to every descendant gone, per kill-mode (process, group, cgroup).
  3. runsv USS per service with each kill-mode, 200 services, as a ratio to process mode.
"""
import argparse, os, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = os.path.join(ROOT, "target", "dist", "bin")
REF = os.path.join(ROOT, "ref", "root", "usr", "bin")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from supervise import alive, pid_of, smaps, stop_tree, wait  # noqa: E402


def make(root, name, body, files=None):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "run"), "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(os.path.join(d, "run"), 0o755)
    for k, v in (files or {}).items():
        with open(os.path.join(d, k), "w") as f:
            f.write(v + "\n")
    return d


def start(runsv, svc, env=None):
    p = subprocess.Popen([runsv, svc], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    wait(lambda: alive(svc) and pid_of(svc) != 0)
    return p


def marked(mark):
    want = ("MARK=" + mark).encode()
    n = 0
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % e, "rb") as f:
                env = f.read().split(b"\0")
            with open("/proc/%s/stat" % e) as f:
                st = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if want in env and st not in ("Z", "X"):
            n += 1
    return n


def kill_marked(mark):
    want = ("MARK=" + mark).encode()
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open("/proc/%s/environ" % e, "rb") as f:
                    if want in f.read().split(b"\0"):
                        os.kill(int(e), signal.SIGKILL)
            except OSError:
                pass


def stop_services(sv, procs, svcs, secs=20):
    """Stops the services and then their runsv processes, leaving nothing behind.

    In kill-mode group and cgroup the service leads a process group of its own, so the
    SIGKILL of runsv's group (stop_tree) does not reach it, and a runsv killed before it
    has seen `x` leaves its cgroup behind. So: `x` to every service, wait for each runsv
    to exit by itself (it exits when its service is down, after removing the cgroup), and
    only for a runsv that did not, SIGKILL it and then the group of the service it ran.
    """
    pids = [pid_of(s) for s in svcs]
    subprocess.run([sv, "x"] + svcs, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.time() + secs
    stuck = []
    for p, pid in zip(procs, pids):
        try:
            p.wait(timeout=max(0.1, end - time.time()))
        except subprocess.TimeoutExpired:
            stuck.append((p, pid))
    stop_tree([p for p, _ in stuck])
    for _, pid in stuck:
        if pid <= 0:  # no run in the record; killpg(0) would be our own group
            continue
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except OSError:
                pass


def term_ignoring(runsv, sv, wait_s, files, tries):
    out = []
    with tempfile.TemporaryDirectory() as root:
        s = make(root, "s", "trap '' TERM; exec sleep 100000", files)
        p = start(runsv, s)
        try:
            for _ in range(tries):
                time.sleep(0.3)
                t0 = time.perf_counter()
                r = subprocess.run([sv, "-w", str(wait_s), "down", s], stdout=subprocess.DEVNULL)
                out.append((time.perf_counter() - t0, r.returncode))
                subprocess.run([sv, "up", s], stdout=subprocess.DEVNULL)
                if r.returncode != 0:
                    # runit: the service is still running; kill it for the next try
                    os.kill(pid_of(s), signal.SIGKILL)
                wait(lambda: pid_of(s) != 0)
                time.sleep(1.1)
        finally:
            stop_tree([p])
    return statistics.median(t for t, _ in out) * 1000, sum(1 for _, c in out if c == 0)


FORK50 = ("for i in $(seq 25); do sleep 100000 & done; "
          "for i in $(seq 25); do setsid sleep 100000 & done; exec sleep 100000")


def descendants_gone(runsv, sv, mode, tries):
    times = []
    survivors = 0
    for i in range(tries):
        mark = "bench-stop-%s-%d-%d" % (mode, os.getpid(), i)
        with tempfile.TemporaryDirectory() as root:
            s = make(root, "bst%d%s" % (os.getpid(), mode), FORK50, {"kill-mode": mode})
            p = start(runsv, s, dict(os.environ, MARK=mark))
            try:
                wait(lambda: marked(mark) >= 52)  # runsv, ./run (sleep) and 50
                t0 = time.perf_counter()
                subprocess.run([sv, "-w", "10", "down", s], stdout=subprocess.DEVNULL)
                end = time.time() + 10
                while marked(mark) > 1 and time.time() < end:
                    time.sleep(0.001)
                left = marked(mark) - 1
                if left:
                    survivors = max(survivors, left)
                else:
                    times.append(time.perf_counter() - t0)
            finally:
                stop_services(sv, [p], [s])
                kill_marked(mark)
    med = statistics.median(times) * 1000 if times else float("nan")
    return med, survivors


def memory(runsv, n, mode):
    with tempfile.TemporaryDirectory() as root:
        procs = []
        svcs = []
        for i in range(n):
            files = {"kill-mode": mode} if mode != "process" else None
            s = make(root, "m%d%s%04d" % (os.getpid(), mode, i), "exec sleep 100000", files)
            svcs.append(s)
            procs.append(subprocess.Popen([runsv, s], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
        for s in svcs:
            wait(lambda: alive(s) and pid_of(s) != 0)
        try:
            return sum(smaps(p.pid)[0] for p in procs) / n
        finally:
            stop_services(os.path.join(OURS, "sv"), procs, svcs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=10)
    ap.add_argument("--services", type=int, default=200)
    a = ap.parse_args()
    ours_runsv, ours_sv = os.path.join(OURS, "runsv"), os.path.join(OURS, "sv")
    ref_runsv, ref_sv = os.path.join(REF, "runsv"), os.path.join(REF, "sv")
    for p in (ours_runsv, ours_sv):
        if not os.path.exists(p):
            raise SystemExit("build first: scripts/build-dist")
    for p in (ref_runsv, ref_sv):
        if not os.path.exists(p):
            raise SystemExit("fetch the reference first: scripts/fetch-ref")

    print("1. sv -w down on a TERM-ignoring service, median of %d" % a.tries)
    r_ms, r_ok = term_ignoring(ref_runsv, ref_sv, 2, None, max(3, a.tries // 3))
    o_ms, o_ok = term_ignoring(ours_runsv, ours_sv, 10, {"timeout-kill": "200"}, a.tries)
    print("   runit (no timeout-kill; sv -w 2)      %8.1f ms  (%d stopped)" % (r_ms, r_ok))
    print("   runit-rs, timeout-kill 200 (sv -w 10) %8.1f ms  (%d of %d stopped)"
          % (o_ms, o_ok, a.tries))

    print("2. sv -w 10 down to all of 50 descendants gone (25 of them in their own session)")
    for mode in ("process", "group", "cgroup"):
        ms, left = descendants_gone(ours_runsv, ours_sv, mode, max(3, a.tries // 2))
        note = "  (%d survive)" % left if left else ""
        print("   kill-mode %-8s %8.1f ms%s" % (mode, ms, note))

    print("3. runsv USS per service, %d services" % a.services)
    base = memory(ours_runsv, a.services, "process")
    print("   kill-mode process  %7.1f KiB" % base)
    for mode in ("group", "cgroup"):
        m = memory(ours_runsv, a.services, mode)
        print("   kill-mode %-8s %7.1f KiB   ratio %.3f" % (mode, m, m / base))


if __name__ == "__main__":
    main()
