#!/bin/bash
# Throughput of svlogd against Debian's svlogd (runit 2.1.2), daemontools' multilog,
# s6-log (if installed) and `cat > file` as the floor.
#
# Input: BENCH_MB (default 200) MB of 60-200-byte lines, through a pipe. Modes:
#   plain   no timestamps, default size rotation (s1000000), n0 so every line stays
#   tt      -tt (multilog: t, s6-log: T), otherwise as plain
#   ttrot   -tt with s10000000 n5 (only the newest files stay)
# `ours-b64k` is runit-rs with -b 65536: each read takes at most -b bytes and is written
# before the next (what a SIGKILL can lose), so the default -b 1024 costs two system calls
# per KiB, as in runit.
# For each run: CPU time (user+sys) of the logger, wall time, MB/s, ratio to runit's CPU
# time, and a check that the files kept hold exactly the input's last bytes, timestamps
# stripped (every line when nothing was pruned), line count included.
#
# Usage: bench/svlogd.sh   (release build is made; runs on tmpfs under /dev/shm)
set -eu
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS=1
scripts/fetch-ref >/dev/null
cargo build --release --bin svlogd 2>&1 | tail -1
OURS=$PWD/target/release/svlogd
RUNIT=$PWD/ref/root/usr/bin/svlogd
MULTILOG=$PWD/ref/root/usr/bin/multilog
S6LOG=$(command -v s6-log || true)
MB=${BENCH_MB:-200}
W=$(mktemp -d "${BENCH_DIR:-/dev/shm}/svlogd-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
IN=$W/input

python3 - "$IN" "$MB" <<'PY'
import random, sys
path, mb = sys.argv[1], int(sys.argv[2])
r = random.Random(42)
words = [b"alpha", b"beta", b"gamma", b"delta", b"service", b"request", b"GET", b"/index.html",
         b"200", b"404", b"user=root", b"pid=1234", b"ms", b"ok", b"warning:", b"error:"]
target = mb * 1000 * 1000
out = bytearray()
n = 0
with open(path, "wb") as f:
    while n < target:
        want = r.randint(60, 200)
        line = bytearray(b"%08d " % r.randint(0, 99999999))
        while len(line) < want - 1:
            line += r.choice(words) + b" "
        line = line[: want - 1] + b"\n"
        out += line
        n += len(line)
        if len(out) > 1 << 20:
            f.write(out)
            out = bytearray()
    f.write(out)
PY
SIZE=$(stat -c %s "$IN")
LINES=$(wc -l < "$IN")
echo "input: $SIZE bytes, $LINES lines of 60-200 bytes"

# run NAME MODE STRIP CMD... : runs CMD in $W/out with the input on a pipe; STRIP is the
# first field (cut -d' ') of a line after its timestamp, 0 for none.
declare -A CPU
run() {
    local name=$1 mode=$2 strip=$3; shift 3
    local dir=$W/out
    rm -rf "$dir"; mkdir -p "$dir/d"
    case "$mode" in
        plain|tt) printf 'n0\n' > "$dir/d/config" ;;
        ttrot) printf 's10000000\nn5\n' > "$dir/d/config" ;;
    esac
    local t
    t=$( { cat "$IN" | (cd "$dir" && /usr/bin/time -f '%U %S %e' "$@" 2>&1 >/dev/null 1>&2 ) ; } 2>&1 | tail -1)
    local user sys wall cpu
    read -r user sys wall <<<"$t"
    cpu=$(echo "$user + $sys" | bc)
    # Kept files in order: @… names sort by time, then current.
    local files
    files=$(cd "$dir/d" && ls | grep -E '^@|^current$|^out$' | sort -t@ -k2 | grep -v '^current$\|^out$'; cd "$dir/d" && ls | grep -E '^current$|^out$' || true)
    local kept
    kept=$(cd "$dir/d" && if [ "$strip" != 0 ]; then cat $files | cut -d' ' -f"$strip"-; else cat $files; fi | tee "$W/kept" | wc -c)
    local klines check
    klines=$(wc -l < "$W/kept")
    if tail -c "$kept" "$IN" | cmp -s - "$W/kept"; then check="ok"; else check="MISMATCH"; fi
    if [ "$mode" != ttrot ] && [ "$klines" != "$LINES" ]; then check="LOST($klines/$LINES)"; fi
    CPU[$name/$mode]=$cpu
    local mbs
    mbs=$(echo "scale=1; $SIZE / 1000000 / $wall" | bc)
    printf '%-8s %-9s cpu %6.2fs  wall %6.2fs  %7s MB/s  lines kept %9s  %s\n' \
        "$mode" "$name" "$cpu" "$wall" "$mbs" "$klines" "$check"
}

for mode in plain tt ttrot; do
    case $mode in
        plain) sv=""; ml="s1000000 n1000"; s6="n1000 s1000000" ;;
        tt) sv="-tt"; ml="t s1000000 n1000"; s6="n1000 s1000000 T" ;;
        ttrot) sv="-tt"; ml="t s10000000 n5"; s6="n5 s10000000 T" ;;
    esac
    strip=0; s6strip=0; [ "$mode" != plain ] && strip=2 && s6strip=4
    run cat "$mode" 0 sh -c 'cat > d/out'
    run runit "$mode" $strip "$RUNIT" $sv d
    run ours "$mode" $strip "$OURS" $sv d
    # shellcheck disable=SC2086
    run ours-b64k "$mode" $strip "$OURS" -b 65536 $sv d
    # shellcheck disable=SC2086
    run multilog "$mode" $strip "$MULTILOG" $ml ./d
    if [ -n "$S6LOG" ]; then
        # shellcheck disable=SC2086
        run s6-log "$mode" $s6strip "$S6LOG" -b $s6 ./d
    fi
done

echo
echo "CPU time relative to runit's svlogd (lower is better):"
for mode in plain tt ttrot; do
    line="  $mode:"
    for name in ours ours-b64k multilog s6-log cat; do
        v=${CPU[$name/$mode]:-}
        [ -n "$v" ] || continue
        line="$line  $name $(echo "scale=3; $v / ${CPU[runit/$mode]}" | bc)"
    done
    echo "$line"
done
