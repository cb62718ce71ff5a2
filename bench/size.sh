#!/bin/sh
# Installed size of all programs and the supervision tree's memory (issues 12, 14), in one
# run, side by side: runit-rs as `make install` installs it (the one static multicall
# binary, every program a link to it), runit-rs's separate programs (`make PER_PROGRAM=1`),
# Debian's runit 2.1.2 (scripts/fetch-ref) and Debian's s6 (scripts/fetch-s6; both
# unpacked into ref/, never installed). Sizes are file sizes in bytes of stripped copies;
# links count 0, so the multicall binary is counted once. Then bench/memory.py (200
# services: USS/PSS/RSS per supervisor and of the whole tree, pages per mapping).
#
#   bench/size.sh [--no-build] [--services N]
#
# Rows of the totals:
#   runit-rs (installed)    target/dist/bin/runit-rs, static non-PIE; 15 links
#   runit-rs per-program    chpst runit runit-init runsv runsvchdir runsvdir sv svlogd
#                           utmpset (8 static, chpst dynamic; the personalities links)
#   runit (Debian)          the same nine programs from runit_2.1.2-54, dynamic
#   s6 (Debian)             every program of s6 (/usr/bin), dynamic, plus the libraries
#                           only s6 uses (libs6, libskarnet, libexecline)
# glibc itself is not counted for the dynamic rows (every system has it).
set -eu
cd "$(dirname "$0")/.."
build=1
services=200
while [ $# -gt 0 ]; do
    case $1 in
    --no-build) build= ;;
    --services) services=$2; shift ;;
    *) echo "usage: bench/size.sh [--no-build] [--services N]" >&2; exit 100 ;;
    esac
    shift
done
scripts/fetch-ref >/dev/null
scripts/fetch-s6 >/dev/null
mkdir -p bench/out
if [ -n "$build" ]; then
    { scripts/build-dist && scripts/build-dist per-program; } >bench/out/size-build.log 2>&1 ||
        { cat bench/out/size-build.log; exit 1; }
fi
s6root=ref/s6/root
progs="chpst runit runit-init runsv runsvchdir runsvdir sv svlogd utmpset"

stripped() { # prints the size of a stripped copy
    cp "$1" bench/out/size.tmp
    strip bench/out/size.tmp 2>/dev/null || true
    stat -c %s bench/out/size.tmp
    rm -f bench/out/size.tmp
}
ref() {
    for d in usr/bin usr/sbin sbin lib/runit; do
        [ -f "ref/root/$d/$1" ] && { echo "ref/root/$d/$1"; return; }
    done
}
# s6's counterpart of each program (none for runit's own init, runsvchdir, utmpset)
s6of() {
    case $1 in
    runsv) echo s6-supervise ;;
    runsvdir) echo s6-svscan ;;
    sv) echo s6-svc ;;
    svlogd) echo s6-log ;;
    chpst) echo s6-setuidgid ;;
    *) echo - ;;
    esac
}
kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

mc=$(stripped target/dist/bin/runit-rs)
file target/dist/bin/runit-rs | grep -q 'statically linked' ||
    echo "warning: target/dist/bin/runit-rs is not statically linked"
pp=0
deb=0
echo "stripped sizes, $(date +%Y-%m-%d) (bytes; runit-rs installed: every program a link to one binary)"
printf '| %-10s | %12s | %12s | %12s | %-24s |\n' program "runit-rs" "per-program" "runit 2.1.2" "s6 counterpart"
printf '|%s|%s|%s|%s|%s|\n' "------------" "-------------:" "-------------:" "-------------:" "--------------------------"
for p in $progs; do
    o=$(stripped "target/dist/per-program/$p")
    d=$(stripped "$(ref "$p")")
    pp=$((pp + o))
    deb=$((deb + d))
    c=$(s6of "$p")
    if [ "$c" != - ]; then c="$c $(stripped "$s6root/usr/bin/$c")"; fi
    printf '| %-10s | %12s | %12s | %12s | %-24s |\n' "$p" "link" "$o" "$d" "$c"
done
printf '| %-10s | %12s | %12s | %12s | %-24s |\n' "runit-rs" "$mc" "-" "-" "-"
s6n=0
s6b=0
for f in "$s6root"/usr/bin/*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    s6b=$((s6b + $(stripped "$f")))
    s6n=$((s6n + 1))
done
s6l=0
for f in "$s6root"/usr/lib/*/libs6.so.* "$s6root"/usr/lib/*/libskarnet.so.* "$s6root"/usr/lib/*/libexecline.so.*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    s6l=$((s6l + $(stripped "$f")))
done
s6v=$(ls ref/s6/debs/s6_*.deb | sed 's/.*s6_\([^_]*\)_.*/\1/')

echo
printf '| %-50s | %7s | %9s | %6s | %8s | %8s |\n' "all programs, as installed" files bytes KiB "vs runit" "vs s6"
printf '|%s|%s|%s|%s|%s|%s|\n' "----------------------------------------------------" "--------:" "----------:" "-------:" "---------:" "---------:"
row() {
    printf '| %-50s | %7s | %9s | %6s | %8s | %8s |\n' "$1" "$2" "$3" "$(kib "$3")" "$(ratio "$3" "$deb")" "$(ratio "$3" $((s6b + s6l)))"
}
row "runit-rs installed (one static multicall binary)" 1 "$mc"
row "runit-rs per-program (8 static + chpst dynamic)" 9 "$pp"
row "runit 2.1.2-54 (Debian), the same 9, dynamic" 9 "$deb"
row "s6 $s6v (Debian), all programs, dynamic" "$s6n" "$s6b"
row "s6 $s6v programs + libs6 + libskarnet + libexecline" "$s6n+3" "$((s6b + s6l))"
echo
bench/memory.py --services "$services"
