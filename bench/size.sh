#!/bin/sh
# Installed size of all programs (issue 12), in one table: runit-rs's stripped per-program
# binaries (what `make install` and the .deb install), its static multicall binary
# (`make install MULTICALL=1`), Debian's runit 2.1.2 and s6 2.11 (Debian 12 packages,
# fetched with apt-get download and unpacked with dpkg -x into bench/out/s6, never
# installed). Sizes are file sizes in bytes of the stripped ELF files; links count 0.
#
#   bench/size.sh
#
# What each row holds:
#   runit-rs          chpst runit runit-init runsv runsvchdir runsvdir sv svlogd utmpset
#                     (8 static, chpst dynamic; the 6 personalities are links)
#   runit-rs multicall  the one static binary (every program a link to it); the dynamic
#                     one (target/dist/bin/runit-rs) for comparison
#   runit (Debian)    the same nine programs from runit_2.1.2-54, dynamic (glibc shared)
#   s6 (Debian)       every program of s6_2.11 (/usr/bin), dynamic, plus the two shared
#                     libraries only s6 uses (libs6, libskarnet); execline's not counted
# glibc itself is not counted for the dynamic rows (every system has it).
set -eu
cd "$(dirname "$0")/.."
scripts/fetch-ref >/dev/null
mkdir -p bench/out/s6
scripts/build-dist >bench/out/size-build.log 2>&1 || { cat bench/out/size-build.log; exit 1; }
scripts/build-dist multicall >>bench/out/size-build.log 2>&1 || { cat bench/out/size-build.log; exit 1; }

(
    cd bench/out/s6
    if ! ls s6_*.deb >/dev/null 2>&1; then
        libs6=$(apt-cache depends s6 | sed -n 's/^ *Depends: \(libs6-[0-9.]*\)$/\1/p' | head -n 1)
        skarnet=$(apt-cache depends s6 | sed -n 's/^ *Depends: \(libskarnet[0-9.]*\)$/\1/p' | head -n 1)
        apt-get download s6 "$libs6" "$skarnet" >/dev/null 2>&1
        for d in ./*.deb; do dpkg -x "$d" root; done
    fi
)
s6root=bench/out/s6/root
progs="chpst runit runit-init runsv runsvchdir runsvdir sv svlogd utmpset"

size() { stat -c %s "$1"; }
stripped() { # prints the size of a stripped copy
    cp "$1" bench/out/size.tmp
    strip bench/out/size.tmp 2>/dev/null || true
    size bench/out/size.tmp
    rm -f bench/out/size.tmp
}
ref() {
    for d in usr/bin usr/sbin sbin lib/runit; do
        [ -f "ref/root/$d/$1" ] && { echo "ref/root/$d/$1"; return; }
    done
}
kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }

ours=0
deb=0
printf '%-12s %12s %12s\n' program "runit-rs" "runit 2.1.2"
for p in $progs; do
    o=$(stripped "target/dist/bin/$p")
    d=$(stripped "$(ref "$p")")
    ours=$((ours + o))
    deb=$((deb + d))
    printf '%-12s %12s %12s\n' "$p" "$o" "$d"
done
mc=$(stripped target/dist/multicall/runit-rs)
mcd=$(stripped target/dist/bin/runit-rs)
s6n=0
s6b=0
for f in "$s6root"/usr/bin/*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    s6b=$((s6b + $(stripped "$f")))
    s6n=$((s6n + 1))
done
s6l=0
for f in "$s6root"/usr/lib/*/libs6.so.* "$s6root"/usr/lib/*/libskarnet.so.*; do
    [ -f "$f" ] && [ ! -L "$f" ] || continue
    s6l=$((s6l + $(stripped "$f")))
done
s6v=$(ls bench/out/s6/s6_*.deb | sed 's/.*s6_\([^_]*\)_.*/\1/')

echo
printf '| %-46s | %5s | %9s | %8s |\n' "installed programs" files bytes KiB
printf '|%s|%s|%s|%s|\n' "------------------------------------------------" "-------" "-----------" "----------"
printf '| %-46s | %5s | %9s | %8s |\n' "runit-rs, per-program (8 static + chpst)" 9 "$ours" "$(kib "$ours")"
printf '| %-46s | %5s | %9s | %8s |\n' "runit-rs, static multicall (one binary)" 1 "$mc" "$(kib "$mc")"
printf '| %-46s | %5s | %9s | %8s |\n' "runit-rs, dynamic multicall (one binary)" 1 "$mcd" "$(kib "$mcd")"
printf '| %-46s | %5s | %9s | %8s |\n' "runit 2.1.2-54 (Debian), same 9, dynamic" 9 "$deb" "$(kib "$deb")"
printf '| %-46s | %5s | %9s | %8s |\n' "s6 $s6v (Debian), all programs, dynamic" "$s6n" "$s6b" "$(kib "$s6b")"
printf '| %-46s | %5s | %9s | %8s |\n' "s6 $s6v programs + libs6 + libskarnet" "$s6n+2" "$((s6b + s6l))" "$(kib $((s6b + s6l)))"
