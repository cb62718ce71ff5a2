#!/bin/bash
# bench/containers.sh — `docker stop`-equivalent: SIGTERM to PID 1 of a PID namespace until
# the namespace has exited, with N_SVC services (default 20), each with a logger, side by
# side (docs/containers.md "Benchmark"):
#
#   ours-runit     runit-rs's runit in container mode: the example tree of examples/container
#                  (build-rootfs, static multicall binary of `make multicall`, busybox sh)
#                  booted with chroot, stages 1-3, the services in /etc/service
#   ours-runsvdir-tree  runit-rs's runsvdir as PID 1 in that same tree (chroot, no stages)
#   ours-runsvdir  runit-rs's runsvdir as PID 1 (multicall links), loggers svlogd, in a
#                  service tree on the host's file system like the two below
#   debian-runsvdir Debian's runit 2.1.2 runsvdir as PID 1 (ref/, scripts/fetch-ref), its
#                  runsv and svlogd
#   s6-svscan      Debian's s6 (if installed: `apt-cache policy s6`) s6-svscan as PID 1,
#                  s6-supervise, loggers s6-log
#
# Each service's ./run traps TERM: it logs `bye` and leaves a marker, so the table also says
# how many of the services were stopped (got TERM and could finish) and how many loggers
# wrote that last line before the namespace ended. Median of RUNS (default 5) runs; the
# ratio is ours-runit / debian-runsvdir. Not measured: phusion's my_init (not in any
# package registry) and s6-overlay (not packaged by Debian); plain s6-svscan stands in.
#
#   bench/containers.sh           (env: N_SVC RUNS)
set -eu
# a failing one_run inside `$(...)` stops the bench (bash clears -e there otherwise)
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
ROOT=$PWD
N_SVC=${N_SVC:-20}
RUNS=${RUNS:-5}
scripts/fetch-ref >/dev/null
MC=$ROOT/target/dist/bin/runit-rs
if [ ! -x "$MC" ]; then
    scripts/build-dist multicall >/dev/null
fi
. bench/s6.sh
W=$(mktemp -d /tmp/bench-containers.XXXXXX)
chmod 755 "$W"

# The running `unshare` is kept in $W/cur, not in a variable: one_run runs in a `$(...)`
# subshell, whose variables the EXIT trap of this shell never sees. Killing unshare's
# child (PID 1 of the namespace) makes the kernel kill everything in the namespace.
kill_cur() {
    local cur
    cur=$(cat "$W/cur" 2>/dev/null) || return 0
    for c in $(cat /proc/$cur/task/$cur/children 2>/dev/null); do kill -9 "$c" 2>/dev/null || true; done
    rm -f "$W/cur"
}
cleanup() {
    kill_cur
    rm -rf "$W"
}
trap cleanup EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# services DIR MARKDIR LOGGER: N_SVC service directories with a logger each
services() {
    local dir=$1 mark=$2 logger=$3 i n
    for i in $(seq -w 1 "$N_SVC"); do
        n=s$i
        mkdir -p "$dir/$n/log/main"
        cat >"$dir/$n/run" <<EOF
#!/bin/sh
exec 2>&1
trap 'kill \$! 2>/dev/null; echo bye; echo down > $mark/down-$n; exit 0' TERM
echo hello
echo up > $mark/up-$n
while :; do sleep 1000 & wait \$!; done
EOF
        printf '#!/bin/sh\nexec %s ./main\n' "$logger" >"$dir/$n/log/run"
        chmod 755 "$dir/$n/run" "$dir/$n/log/run"
    done
}

# fail NAME WHY: the run's tree is killed and the bench stops, with the PID 1's stderr
fail() {
    echo "$1: $2" >&2
    cat "$W/$1.err" >&2
    kill_cur
    exit 1
}

# one_run NAME MARKDIR SVCDIR COMMAND...: boots, waits for every service, TERM, waits
# for the exit; prints "ms stopped logged"
one_run() {
    local name=$1 mark=$2 svc=$3 pid init t0 t1 i l
    shift 3
    rm -f "$mark"/up-* "$mark"/down-*
    for i in "$svc"/*/log/main; do rm -f "$i/current"; done
    "$@" >"$W/$name.out" 2>"$W/$name.err" &
    pid=$!
    echo "$pid" >"$W/cur"
    i=0
    until [ "$(ls "$mark" | grep -c '^up-')" -ge "$N_SVC" ]; do
        i=$((i + 1))
        if [ $i -gt 3000 ]; then fail "$name" "services not up"; fi
        sleep 0.01
    done
    # each logger has written the service's first line: the pipes are set up
    i=0
    for l in "$svc"/*/log/main; do
        until grep -q hello "$l/current" 2>/dev/null; do
            i=$((i + 1))
            if [ $i -gt 3000 ]; then fail "$name" "no first line in $l/current"; fi
            sleep 0.01
        done
    done
    init=$(cat /proc/$pid/task/$pid/children)
    t0=$(now_ms)
    kill -TERM "$init"
    wait "$pid" || true
    t1=$(now_ms)
    rm -f "$W/cur"
    echo "$((t1 - t0)) $(ls "$mark" | grep -c '^down-' || true) $(cat "$svc"/*/log/main/current 2>/dev/null | grep -c 'bye$' || true)"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# bench NAME MARKDIR SVCDIR COMMAND...: RUNS runs, "median_ms stopped logged" of the last
bench() {
    local name=$1 r out ms="" last=""
    shift
    for r in $(seq 1 "$RUNS"); do
        out=$(one_run "$name" "$@")
        ms="$ms ${out%% *}"
        last=${out#* }
    done
    echo "$(echo $ms | tr ' ' '\n' | median) $last"
}

# ours-runit: the example tree with the bench's services instead of the examples'
R=$W/rootfs
examples/container/build-rootfs "$R" "$MC" >/dev/null
rm -rf "$R/etc/service/hello" "$R/etc/service/worker"
mkdir -p "$R/tmp/m"
services "$R/etc/service" /tmp/m svlogd
# what a container engine gives the tree before its PID 1 starts (as sh -c text)
TREE_MOUNTS="mount -t proc proc '$R/proc' && mount -t tmpfs none '$R/run' \
    && mount -t tmpfs none '$R/dev' && touch '$R/dev/null' && mount --bind /dev/null '$R/dev/null'"
OURS_RUNIT=$(bench ours-runit "$R/tmp/m" "$R/etc/service" \
    unshare --pid --fork --mount sh -c "$TREE_MOUNTS && exec chroot '$R' /sbin/runit")

# ours-runsvdir-tree: our runsvdir as PID 1 in that same tree (chroot, no stages): with
# ours-runit it separates what the program costs from what the tree costs
OURS_SVD_TREE=$(bench ours-runsvdir-tree "$R/tmp/m" "$R/etc/service" \
    unshare --pid --fork --mount sh -c \
    "$TREE_MOUNTS && exec chroot '$R' env - PATH=/usr/local/bin:/usr/bin:/bin runsvdir -P /etc/service")

# the scanners, on the host's file system
scanner() { # NAME PATHDIR LOGGER COMMAND...
    local name=$1 path=$2 logger=$3 d=$W/$1
    shift 3
    mkdir -p "$d/m" "$d/service"
    services "$d/service" "$d/m" "$logger"
    (cd "$d" && bench "$name" "$d/m" "$d/service" env PATH="$path:/usr/bin:/bin" unshare --pid --fork --mount-proc "$@")
}
mkdir -p "$W/ourbin"
"$ROOT/examples/container/links" "$W/ourbin"
cp "$MC" "$W/ourbin/usr/local/bin/runit-rs"
OURS_SVD=$(scanner ours-runsvdir "$W/ourbin/usr/local/bin" svlogd runsvdir -P service)
DEB_SVD=$(scanner debian-runsvdir "$ROOT/ref/root/usr/bin" svlogd "$ROOT/ref/root/usr/bin/runsvdir" -P service)
if [ -n "$S6" ]; then
    S6_SVS=$(scanner s6-svscan "$S6_BIN" "s6-log t" "${S6_CMD[@]}" service)
fi

echo "docker stop-equivalent: SIGTERM to PID 1 -> namespace exited; $N_SVC services with loggers, median of $RUNS runs"
printf '%-19s %10s %16s %16s\n' "PID 1" "ms" "services stopped" "last line logged"
for r in "ours-runit:$OURS_RUNIT" "ours-runsvdir-tree:$OURS_SVD_TREE" "ours-runsvdir:$OURS_SVD" "debian-runsvdir:$DEB_SVD" ${S6:+"s6-svscan:$S6_SVS"}; do
    set -- ${r#*:}
    printf '%-19s %10s %13s/%s %13s/%s\n' "${r%%:*}" "$1" "$2" "$N_SVC" "$3" "$N_SVC"
done
ours=${OURS_RUNIT%% *}
deb=${DEB_SVD%% *}
awk -v a="$ours" -v b="$deb" 'BEGIN { printf "ratio ours-runit / debian-runsvdir: %.1f (debian exits at once: its services are SIGKILLed by the kernel, not stopped)\n", (b > 0 ? a / b : a) }'
[ -n "$S6" ] || echo "left out: s6-svscan (not installed, and scripts/fetch-s6 failed)"
echo "left out: phusion's my_init (not in any package registry), s6-overlay (not packaged by Debian)"
