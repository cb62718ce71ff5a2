#!/bin/bash
# Boot benchmark in QEMU (software emulation), side by side in one run: our runit vs
# Debian's runit 2.1.2, same kernel, same initramfs, same stage scripts and services.
#
#   bench/boot.sh [RUNS]      (default 5 boots each, alternating; medians reported)
#
# Per boot, three figures:
#   boot     host seconds from starting qemu to the "ALL SERVICES UP" console line
#   stages   guest seconds (monotonic clock, ns resolution) from stage 1's first line to
#            "ALL SERVICES UP" (runit's share of the boot)
#   halt     host seconds from the "TRIGGER runit-init 0" line to qemu's exit (power off)
# Columns: "ours" = every program ours (runit, runsvdir, runsv, sv; svimpl=ours),
# "ours+sv" = our runit, runsv and sv under Debian's runsvdir (svimpl=mixed),
# "debian" = Debian's runit, runsvdir, runsv and sv. Our binaries: scripts/build-dist.
# Ratios = ours / debian and ours+sv / debian (below 1: we are faster).
set -eu
cd "$(dirname "$0")/.."
runs=${1:-5}
scripts/fetch-ref
scripts/fetch-qemu
scripts/build-dist >/dev/null
mkdir -p bench/out
initrd=bench/out/initrd.cpio.gz
tests/qemu/build-initramfs "$initrd" "$PWD/target/dist/bin/runit-rs"
kernel=$(ls qemu/root/boot/vmlinuz-* | head -n 1)

# boot RDINIT EXTRA: prints "boot stages halt"
boot() {
    local t0 now line tup= ttrig= s1= allup=
    t0=$EPOCHREALTIME
    while IFS= read -r line; do
        now=$EPOCHREALTIME
        line=${line%$'\r'}
        case $line in
        *"STAGE1 start at "*) s1=${line##* } ;;
        *"ALL SERVICES UP at "*) tup=$now; allup=${line##* } ;;
        *"TRIGGER runit-init "*) ttrig=$now ;;
        esac
    done < <(timeout 120 qemu-system-x86_64 -accel tcg -m 256 -display none -serial stdio \
        -monitor none -no-reboot -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 rdinit=$1 panic=-1 quiet runit_test=0 $2" </dev/null 2>&1)
    now=$EPOCHREALTIME
    if [ -z "$tup" ] || [ -z "$ttrig" ] || [ -z "$s1" ]; then
        echo "boot with rdinit=$1 failed" >&2
        exit 1
    fi
    awk -v t0="$t0" -v tup="$tup" -v s1="$s1" -v up="$allup" -v tt="$ttrig" -v te="$now" \
        'BEGIN { printf "%.3f %.4f %.3f\n", tup - t0, (up - s1) / 1e9, te - tt }'
}

: > bench/out/boot.ours
: > bench/out/boot.mixed
: > bench/out/boot.debian
for _ in $(seq "$runs"); do
    boot /sbin/init "svimpl=ours" >> bench/out/boot.ours
    boot /sbin/init "svimpl=mixed" >> bench/out/boot.mixed
    boot /ref/bin/runit "svimpl=ref" >> bench/out/boot.debian
done

median() { # column file
    awk -v c="$1" '{ print $c }' "$2" | sort -n | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
printf '%-8s %10s %10s %10s %8s %8s   (median of %s boots each, seconds)\n' \
    metric ours ours+sv debian ratio ratio+sv "$runs"
col=1
for m in boot stages halt; do
    o=$(median $col bench/out/boot.ours)
    x=$(median $col bench/out/boot.mixed)
    d=$(median $col bench/out/boot.debian)
    awk -v m="$m" -v o="$o" -v x="$x" -v d="$d" \
        'BEGIN { printf "%-8s %10.4f %10.4f %10.4f %8.2f %8.2f\n", m, o, x, d, o / d, x / d }'
    col=$((col + 1))
done
