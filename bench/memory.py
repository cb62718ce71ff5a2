#!/usr/bin/env python3
"""Memory of a supervision tree (issue 14): ours, Debian's runit 2.1.2 and Debian's s6 in one run.

Usage: bench/memory.py [--services N] [--ours DIR] [--also LABEL=DIR ...]
Needs: scripts/build-dist (DIR, default target/dist/bin: runsvdir and runsv, links to the
multicall binary), scripts/fetch-ref, scripts/fetch-s6.

For each implementation, a scanner supervising N services (`exec sleep`, no log):
runsvdir + N runsv (ours, runit's) and s6-svscan + N s6-supervise (s6), each from its own
directory first on PATH (s6 with its unpacked libraries on LD_LIBRARY_PATH). Once every
supervisor has its service running (and 1 s more for start-up to finish touching pages),
from /proc/PID/smaps_rollup:
  per supervisor   USS (Private_Clean + Private_Dirty), PSS and RSS, mean over the N
  whole tree       the sums over the scanner and the N supervisors (services not counted);
                   RSS summed counts shared pages N times, PSS shares them out
and, for one supervisor of each, its private pages per mapping (/proc/PID/smaps), which
says where they go. Ratios are ours / theirs (below 1: we use less).
--also LABEL=DIR adds another build of ours (e.g. a static-pie one) as a column.
"""
import argparse, os, shutil, signal, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def rollup(pid):
    """(USS, PSS, RSS) in KiB."""
    v = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                v[k] = int(rest.split()[0])
    return v["Private_Clean"] + v["Private_Dirty"], v["Pss"], v["Rss"]


def mappings(pid):
    """[(name, perms, private KiB, private dirty KiB)] with private pages, by mapping."""
    out = []
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and not parts[0].endswith(":"):
                name = parts[5] if len(parts) > 5 else "[anon]"
                cur = [os.path.basename(name) if name.startswith("/") else name, parts[1], 0, 0]
                out.append(cur)
            elif parts[0] in ("Private_Clean:", "Private_Dirty:"):
                cur[2] += int(parts[1])
                if parts[0] == "Private_Dirty:":
                    cur[3] += int(parts[1])
    return [tuple(m) for m in out if m[2]]


def make_services(root, n):
    for i in range(n):
        d = os.path.join(root, "s%03d" % i)
        os.makedirs(d)
        with open(os.path.join(d, "run"), "w") as f:
            f.write("#!/bin/sh\nexec sleep 100000\n")
        os.chmod(os.path.join(d, "run"), 0o755)


def measure(label, scanner, bindir, n, env_extra):
    root = tempfile.mkdtemp(prefix="rrs-mem-")
    make_services(root, n)
    env = {"PATH": bindir + ":/usr/bin:/bin"}
    env.update(env_extra)
    args = [scanner, root]
    if os.path.basename(scanner) == "s6-svscan":
        args = [scanner, "-c", str(n + 16), root]
        if not os.path.exists("/usr/bin/s6-supervise"):
            # Debian's s6-svscan runs /usr/bin/s6-supervise (a path built in), and ours is
            # unpacked in ref/, not installed: an overlay puts it there in a private mount
            # namespace; unshare and sh exec, so p.pid is still the scanner's.
            ov = "mount -t overlay overlay -o lowerdir=%s:/usr/bin /usr/bin && exec \"$0\" \"$@\""
            args = ["unshare", "--mount", "sh", "-c", ov % bindir] + args
    p = subprocess.Popen(args, env=env, cwd="/", stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    sups = []
    try:
        end = time.time() + 60
        while True:
            sups = children(p.pid)
            if len(sups) == n and all(any(comm(c) == "sleep" for c in children(s)) for s in sups):
                break
            if time.time() > end or p.poll() is not None:
                raise SystemExit("%s: %d of %d supervisors up after 60 s" % (label, len(sups), n))
            time.sleep(0.1)
        time.sleep(1)
        per = [rollup(s) for s in sups]
        scan = rollup(p.pid)
        one = mappings(sups[0])
        res = {
            "per": tuple(sum(x[i] for x in per) / n for i in range(3)),
            "tree": tuple(scan[i] + sum(x[i] for x in per) for i in range(3)),
            "scanner": scan,
            "maps": one,
        }
        return res
    finally:
        svcs = [c for s in sups for c in children(s)]
        for pid in [p.pid] + sups + svcs:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.wait()
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=200)
    ap.add_argument("--ours", default=os.path.join(ROOT, "target", "dist", "bin"))
    ap.add_argument("--also", action="append", default=[])
    a = ap.parse_args()
    n = a.services
    s6root = os.path.join(ROOT, "ref", "s6", "root")
    s6lib = os.path.join(s6root, "usr", "lib", "x86_64-linux-gnu")
    impls = [("runit-rs", os.path.join(a.ours, "runsvdir"), a.ours, {})]
    for x in a.also:
        lab, _, d = x.partition("=")
        impls.append((lab, os.path.join(d, "runsvdir"), d, {}))
    refbin = os.path.join(ROOT, "ref", "root", "usr", "bin")
    impls.append(("runit 2.1.2", os.path.join(refbin, "runsvdir"), refbin, {}))
    s6bin = os.path.join(s6root, "usr", "bin")
    impls.append(("s6 2.11", os.path.join(s6bin, "s6-svscan"), s6bin, {"LD_LIBRARY_PATH": s6lib}))
    for lab, sc, _, _ in impls:
        if not os.path.exists(sc):
            raise SystemExit("%s: missing %s (scripts/build-dist, fetch-ref, fetch-s6)" % (lab, sc))
    res = {}
    for lab, sc, d, e in impls:
        res[lab] = measure(lab, sc, d, n, e)
    labels = [i[0] for i in impls]
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print("memory, %d services, %s, load %s (KiB; ratio = runit-rs / other)" % (
        n, time.strftime("%Y-%m-%d"), load))
    hdr = "| %-34s |" % "measure" + "".join(" %11s |" % l for l in labels)
    hdr += " vs runit | vs s6 |"
    print(hdr)
    print("|" + "-" * 36 + "|" + "------------:|" * len(labels) + "---------:|------:|")

    def row(name, get):
        vals = [get(res[l]) for l in labels]
        o, r, s = vals[0], get(res["runit 2.1.2"]), get(res["s6 2.11"])
        line = "| %-34s |" % name + "".join(" %11.1f |" % v for v in vals)
        line += " %8.2f | %5.2f |" % (o / r, o / s)
        print(line)

    for i, k in enumerate(("USS", "PSS", "RSS")):
        row("%s per supervisor" % k, lambda r, i=i: r["per"][i])
    for i, k in enumerate(("USS", "PSS", "RSS")):
        row("%s scanner" % k, lambda r, i=i: r["scanner"][i])
    for i, k in enumerate(("USS", "PSS", "RSS (sum)")):
        row("%s whole tree (scanner + %d)" % (k, n), lambda r, i=i: r["tree"][i])
    print()
    for lab in labels:
        print("%s: private pages of one supervisor, per mapping (KiB: private, of it dirty)" % lab)
        for name, perms, priv, dirty in res[lab]["maps"]:
            print("  %-28s %s %5d %5d" % (name, perms, priv, dirty))
        tot = sum(m[2] for m in res[lab]["maps"])
        print("  %-28s %s %5d %5d" % ("total", "    ", tot, sum(m[3] for m in res[lab]["maps"])))


if __name__ == "__main__":
    main()
