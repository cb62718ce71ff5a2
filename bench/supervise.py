#!/usr/bin/env python3
"""runsv/sv benchmark (issue 2): ours against Debian's runit 2.1.2 in one run, as ratios.

Usage: bench/supervise.py [--services N] [--status-services N] [--tries N]
                          [--readiness-tries N] [--readiness-only] [--fifo]
Needs: scripts/build-dist and scripts/fetch-ref. Run as root.

Measures
  1. runsv memory per supervised service: USS (Private_Clean+Private_Dirty) and RSS from
     /proc/PID/smaps_rollup, averaged over N runsv processes.
  2. restart latency after SIGKILL of a service that ran > 1 s: kill -> new pid published.
  3. `sv -w 7 down` and `sv -w 7 up` on a service that obeys at once: wall time, median.
  4. `sv status` over 1000 services in one call: CPU time (user+sys of the sv process).
  5. stripped binary sizes.
  6. readiness (docs/readiness.md, issue 10):
     a. the service says it is ready (READY=1 on $NOTIFY_SOCKET, or the newline on its
        notification-fd; it takes a CLOCK_MONOTONIC stamp just before) -> `sv -w 7 start`
        returns (the stamp taken right after sv's exit is reaped): median and max over N
        tries. For comparison the same service with a `./check` script that passes once
        the service has made its `ready` file: runit's sv polls every 420 ms, ours re-runs
        a failing check at 10 ms doubling to 420 ms. The moment the service becomes ready
        is drawn at random within 420 ms of its start (seeded), so a poll's phase does not
        bias the median.
     b. runsv USS per service with readiness configured and used (the service ready
        through notify-socket or notification-fd) against without, same N services.

The latency rows are scheduling-bound on a busy machine (the development machine is shared
by parallel builds): --fifo runs the bench and everything it starts, runit's programs and
ours alike, under SCHED_FIFO so other load does not delay their wake-ups. The load average
is printed with the rows.
"""
import argparse, os, random, resource, shutil, signal, statistics, subprocess, sys, tempfile, time

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


# ---------------------------------------------------------------- 6. readiness

# The service of 6a, exec'd by ./run in its directory: says it has started, waits for the
# bench's `trigger`, takes the stamp, becomes ready by MODE, then writes the stamp.
READY_SVC = r"""
import os, socket, sys, time
mode = sys.argv[1]
open("started", "w").close()
while not os.path.exists("trigger"):
    time.sleep(0.0002)
t = time.monotonic_ns()
if mode == "notify-socket":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(os.environ["NOTIFY_SOCKET"])
    s.send(b"READY=1")
elif mode == "notification-fd":
    os.write(3, b"\n")
else:
    open("ready", "w").close()
with open("t_ready.new", "w") as f:
    f.write(str(t))
os.rename("t_ready.new", "t_ready")
os.execvp("sleep", ["sleep", "100000"])
"""


def ready_service(root, name, mode, body):
    """A service directory configured for readiness MODE ("notify-socket",
    "notification-fd", "check" or "none") with the given ./run body."""
    d = make_service(root, name, body)
    if mode == "notify-socket":
        open(os.path.join(d, "notify-socket"), "w").close()
    elif mode == "notification-fd":
        with open(os.path.join(d, "notification-fd"), "w") as f:
            f.write("3\n")
    elif mode == "check":
        with open(os.path.join(d, "check"), "w") as f:
            f.write("#!/bin/sh\nexec test -e ready\n")
        os.chmod(os.path.join(d, "check"), 0o755)
    return d


def ready_latency(runsv, sv, mode, tries, seed=10):
    rnd = random.Random(seed)
    with tempfile.TemporaryDirectory() as root:
        prog = os.path.join(root, "svc.py")
        with open(prog, "w") as f:
            f.write(READY_SVC)
        s = ready_service(root, "s", mode, "exec %s %s %s" % (sys.executable, prog, mode))
        open(os.path.join(s, "down"), "w").close()
        p = subprocess.Popen([runsv, s], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        out = []
        try:
            wait(lambda: alive(s))
            for _ in range(tries):
                for f in ("trigger", "started", "ready", "t_ready"):
                    try:
                        os.unlink(os.path.join(s, f))
                    except FileNotFoundError:
                        pass
                svp = subprocess.Popen([sv, "-w", "7", "start", s], stdout=subprocess.PIPE)
                wait(lambda: os.path.exists(os.path.join(s, "started")))
                time.sleep(rnd.uniform(0, 0.42))
                open(os.path.join(s, "trigger"), "w").close()
                out_sv = svp.stdout.read()  # up to sv's exit: EOF comes with it
                rc = svp.wait()
                t_end = time.monotonic_ns()
                if rc != 0:
                    raise SystemExit("benchmark: sv -w 7 start failed (%s, %s): %s"
                                     % (mode, runsv, out_sv.decode(errors="replace")))
                wait(lambda: os.path.exists(os.path.join(s, "t_ready")))
                with open(os.path.join(s, "t_ready")) as f:
                    out.append((t_end - int(f.read())) / 1e6)
                subprocess.run([sv, "-w", "7", "down", s], stdout=subprocess.DEVNULL, check=True)
            return statistics.median(out), max(out)
        finally:
            stop_tree([p])


def ready_memory(runsv, n, mode):
    """runsv USS/RSS per service, N services, each ready by MODE (or plain for "none")."""
    send = ("import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
            "s.connect(os.environ['NOTIFY_SOCKET']); s.send(b'READY=1'); "
            "os.execvp('sleep', ['sleep', '100000'])")
    body = {"none": "exec sleep 100000",
            "notification-fd": "echo >&3; exec sleep 100000",
            "notify-socket": "exec %s -c \"%s\"" % (sys.executable, send)}[mode]
    with tempfile.TemporaryDirectory() as root:
        procs, svcs = [], []
        try:
            for i in range(n):
                s = ready_service(root, "s%04d" % i, mode, body)
                svcs.append(s)
                procs.append(subprocess.Popen([runsv, s], stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL,
                                              start_new_session=True))
            for s in svcs:
                if mode == "none":
                    wait(lambda: alive(s) and pid_of(s) != 0, 60)
                else:
                    wait(lambda: "readiness=ready" in read_info(s), 60)
            u = r = 0
            for p in procs:
                a, b = smaps(p.pid)
                u += a
                r += b
            return u / n, r / n
        finally:
            stop_tree(procs)


def read_info(svc):
    try:
        with open(os.path.join(svc, "supervise/info")) as f:
            return f.read()
    except OSError:
        return ""


def readiness(ours, ref, a):
    print()
    print("readiness (issue 10): ready -> `sv -w 7 start` returns, %d tries (load average %.1f%s)"
          % (a.readiness_tries, os.getloadavg()[0], ", SCHED_FIFO" if a.fifo else ""))
    print("%-44s %10s %10s" % ("", "median", "max"))
    rows = [("runit, ./check (sv's 420 ms poll)", ref, "check"),
            ("runit-rs, notify-socket (READY=1)", ours, "notify-socket"),
            ("runit-rs, notification-fd (newline)", ours, "notification-fd"),
            ("runit-rs, ./check", ours, "check")]
    res = {}
    for name, progs, mode in rows:
        med, mx = ready_latency(progs["runsv"], progs["sv"], mode, a.readiness_tries)
        res[(progs is ours, mode)] = med
        print("%-44s %10.2f %10.2f ms" % (name, med, mx))
    base = res[(False, "check")]
    for mode in ("notify-socket", "notification-fd"):
        print("%-44s %10.4f   (runit-rs %s / runit ./check)" % ("  ratio", res[(True, mode)] / base, mode))
    print()
    print("runsv memory per service, readiness configured and used (%d services)" % a.services)
    print("%-44s %10s %10s %s" % ("", "USS KiB", "RSS KiB", "USS / without"))
    u0, r0 = ready_memory(ours["runsv"], a.services, "none")
    print("%-44s %10.2f %10.2f" % ("runit-rs, without readiness", u0, r0))
    for mode in ("notify-socket", "notification-fd"):
        u, r = ready_memory(ours["runsv"], a.services, mode)
        print("%-44s %10.2f %10.2f %10.3f" % ("runit-rs, " + mode, u, r, u / u0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=200)
    ap.add_argument("--status-services", type=int, default=1000)
    ap.add_argument("--tries", type=int, default=20)
    ap.add_argument("--readiness-tries", type=int, default=30)
    ap.add_argument("--readiness-only", action="store_true")
    ap.add_argument("--fifo", action="store_true")
    a = ap.parse_args()
    if a.fifo:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
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

    if a.readiness_only:
        readiness(ours, ref, a)
        return
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
    # each file once: in target/dist/bin every program is a link to one runit-rs
    files = {os.path.realpath(p) for p in ours.values() if os.path.exists(p)}
    ot = sum(stripped_size(p) for p in files)
    row("stripped size, nine programs (%d file%s)" % (len(files), "" if len(files) == 1 else "s"), rt / 1024, ot / 1024, "KiB")
    readiness(ours, ref, a)


if __name__ == "__main__":
    main()
