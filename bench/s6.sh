# Sourced by the bash benchmarks that run s6 (bench/runsvdir.sh, bench/containers.sh).
# Sets S6 (the s6-svscan to measure, or empty when there is none), S6_BIN (its directory,
# for PATH), and the arrays S6_CMD (runs s6-svscan; the caller appends its arguments) and
# S6_CTL (runs s6-svscanctl). The installed s6 if there is one; else Debian's, unpacked in
# ref/s6 (scripts/fetch-s6): its libraries go on LD_LIBRARY_PATH of s6's commands only
# (not of the other suites' processes), and as its s6-svscan runs /usr/bin/s6-supervise (a
# path built in), S6_CMD mounts an overlay of ref/s6's programs on /usr/bin in a private
# mount namespace (nothing changes on the host) and execs s6-svscan, so the pid started is
# the scanner's.
S6=$(command -v s6-svscan || true)
S6_ENV=()
if [ -z "$S6" ] && scripts/fetch-s6 >/dev/null; then
    S6=$PWD/ref/s6/root/usr/bin/s6-svscan
    S6_ENV=(env "LD_LIBRARY_PATH=$(ls -d "$PWD"/ref/s6/root/usr/lib/*-linux-gnu)")
fi
S6_BIN=
S6_CMD=()
S6_CTL=()
if [ -n "$S6" ]; then
    S6_BIN=$(dirname "$S6")
    S6_CMD=("${S6_ENV[@]}" "$S6")
    S6_CTL=("${S6_ENV[@]}" "$S6_BIN/s6-svscanctl")
    if [ ! -x /usr/bin/s6-supervise ]; then
        # shellcheck disable=SC2016 # expanded by the inner sh: $0 is S6_BIN
        S6_CMD=("${S6_ENV[@]}" unshare --mount sh -c 'mount -t overlay overlay -o lowerdir="$0":/usr/bin /usr/bin && exec s6-svscan "$@"' "$S6_BIN")
    fi
fi
