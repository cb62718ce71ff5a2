#!/usr/bin/env python3
"""runit-exporter benchmark (issue 13): 1000 services, each with a log service, under our
runsv; the release exporter from scripts/build-dist.

Usage: bench/exporter.py [--services N] [--scrapes N] [--no-log]
Needs: scripts/build-dist. Run as root.

Measures
  1. scrape latency: wall time of GET /metrics (connect to last byte), median and p99,
     over N sequential scrapes by a plain socket client;
  2. exporter CPU: user+sys of the exporter process over those N scrapes, per scrape
     (from /proc/PID/stat);
  3. exporter memory: RSS and USS (Private_Clean+Private_Dirty) idle after start, and
     after the scrapes, and the peak RSS (VmHWM);
  4. the size of one exposition; the CPU of one `svjson` and, for scale under the same
     load, of one `sv status` over the same services (best of 5, from wait4's rusage).
"""
import argparse, os, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = os.path.join(ROOT, "target", "dist", "bin")
sys.path.insert(0, os.path.join(ROOT, "bench"))
from supervise import alive, pid_of, smaps, stop_tree, wait  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def make(root, name, log):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "run"), "w") as f:
        f.write("#!/bin/sh\nexec sleep 100000\n")
    os.chmod(os.path.join(d, "run"), 0o755)
    if log:
        os.makedirs(os.path.join(d, "log"), exist_ok=True)
        with open(os.path.join(d, "log", "run"), "w") as f:
            f.write("#!/bin/sh\nexec cat >/dev/null\n")
        os.chmod(os.path.join(d, "log", "run"), 0o755)
    return d


def cpu_s(pid):
    """(user, sys) seconds of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def child_cpu(argv, tries=5):
    """Best of `tries`: user+sys ms of one run of argv (from wait4's rusage), its output."""
    best, out = None, b""
    for _ in range(tries):
        with tempfile.TemporaryFile() as f:
            p = subprocess.Popen(argv, stdout=f, stderr=subprocess.DEVNULL)
            _, _, ru = os.wait4(p.pid, 0)
            f.seek(0)
            out = f.read()
        ms = (ru.ru_utime + ru.ru_stime) * 1000
        best = ms if best is None else min(best, ms)
    return best, out


def hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def get(addr):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    chunks = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        chunks.append(b)
    s.close()
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        raise SystemExit("benchmark: bad answer: %r" % head[:80])
    return body


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--scrapes", type=int, default=200)
    ap.add_argument("--no-log", action="store_true")
    a = ap.parse_args()
    runsv = os.path.join(OURS, "runsv")
    exporter = os.path.join(OURS, "runit-exporter")
    svjson = os.path.join(OURS, "svjson")
    for p in (runsv, exporter, svjson):
        if not os.path.exists(p):
            raise SystemExit("benchmark: %s missing: run scripts/build-dist" % p)
    log = not a.no_log
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "service")
        svcs = [make(root, "s%04d" % i, log) for i in range(a.services)]
        procs = [subprocess.Popen([runsv, s], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True) for s in svcs]
        ex = None
        try:
            for s in svcs:
                wait(lambda: alive(s) and pid_of(s) != 0, 60)
            err = os.path.join(tmp, "exporter.err")
            with open(err, "w") as ef:
                ex = subprocess.Popen([exporter, "-d", root, "-a", "127.0.0.1:0"],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=ef, start_new_session=True)
            addr = None

            def listening():
                nonlocal addr
                with open(err) as f:
                    t = f.read()
                if "listening on " in t:
                    addr = t.split("listening on ")[1].split(",")[0]
                    return True
                return False
            wait(listening)
            time.sleep(0.2)
            idle_uss, idle_rss = smaps(ex.pid)
            body = get(addr)
            lines = [l for l in body.split(b"\n") if l and not l.startswith(b"#")]
            c0 = cpu_s(ex.pid)
            lat = []
            for _ in range(a.scrapes):
                t0 = time.perf_counter()
                get(addr)
                lat.append((time.perf_counter() - t0) * 1000)
            c1 = cpu_s(ex.pid)
            uss, rss = smaps(ex.pid)
            hwm = hwm_kb(ex.pid)
            js, out = child_cpu([svjson, "-d", root])
            svs, _ = child_cpu([os.path.join(OURS, "sv"), "status"] + svcs)
        finally:
            if ex is not None:
                ex.kill()
                ex.wait()
            stop_tree(procs)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
    print("runit-exporter, %d services%s, %d scrapes (release, static)" %
          (a.services, " each with a log service" if log else "", a.scrapes))
    print("  exposition: %d bytes, %d samples" % (len(body), len(lines)))
    print("  scrape latency: median %.2f ms, p99 %.2f ms, max %.2f ms" %
          (statistics.median(lat), p99, lat[-1]))
    user, sys_ = c1[0] - c0[0], c1[1] - c0[1]
    print("  exporter CPU: %.2f ms per scrape (user %.2f + sys %.2f; %.2f s over %d)" %
          ((user + sys_) * 1000 / a.scrapes, user * 1000 / a.scrapes,
           sys_ * 1000 / a.scrapes, user + sys_, a.scrapes))
    print("  load average at the end: %.1f (2 cores; other work on the machine)" %
          os.getloadavg()[0])
    print("  exporter memory: idle RSS %d KiB, USS %d KiB; after scrapes RSS %d KiB, "
          "USS %d KiB; peak RSS %d KiB" % (idle_rss, idle_uss, rss, uss, hwm))
    print("  svjson over the same tree: %.1f ms CPU (best of 5), %d bytes" % (js, len(out)))
    print("  for scale, our `sv status` of the same services: %.1f ms CPU (best of 5)" % svs)


if __name__ == "__main__":
    main()
