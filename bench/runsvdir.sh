#!/bin/bash
# bench/runsvdir.sh — runit-rs runsvdir side by side with Debian's runsvdir (runit 2.1.2) and
# s6-svscan (if installed), in one run, printing ratios.
#
#   1. pickup latency: entry symlinked into the scan directory -> its ./run executed
#      (N_PICKUP tries; s6-svscan is told with `s6-svscanctl -a`, it has no watcher)
#   2. N_UP services (default 1000) brought up: time, memory of the scanner and supervisors
#   3. idle cost over IDLE seconds with those services up: CPU time and wake-ups of the scanner
#      (/proc/PID/schedstat: run time and timeslices; /proc/PID/status: context switches)
#   4. shutdown of N_DOWN services (default 200): runsvdir SIGHUP (TERM to every runsv),
#      s6-svscanctl -t, and runit-rs runsvdir as PID 1 of a PID namespace getting SIGTERM
#
# RUNSV=own (default): each runsvdir starts its own suite's runsv, so the memory rows are the
# whole tree's; RUNSV=debian or RUNSV=ours: both start the same runsv and only the scanner
# differs. Release build (scripts/build-dist). Usage: bench/runsvdir.sh
# (env: N_PICKUP N_UP IDLE N_DOWN RUNSV)
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
N_PICKUP=${N_PICKUP:-20}
N_UP=${N_UP:-1000}
IDLE=${IDLE:-30}
N_DOWN=${N_DOWN:-200}
N_ISOLATED=${N_ISOLATED:-3}
SECTIONS=${SECTIONS:-"pickup up down"}
scripts/fetch-ref >/dev/null
scripts/build-dist >/dev/null
OURS=$ROOT/target/dist/bin/runsvdir
DEB=$ROOT/ref/root/usr/bin/runsvdir
case ${RUNSV:-own} in
ours) RUNSV_OURS=$ROOT/target/dist/bin RUNSV_DEB=$ROOT/target/dist/bin ;;
debian) RUNSV_OURS=$ROOT/ref/root/usr/bin RUNSV_DEB=$ROOT/ref/root/usr/bin ;;
*) RUNSV_OURS=$ROOT/target/dist/bin RUNSV_DEB=$ROOT/ref/root/usr/bin ;;
esac
. bench/s6.sh
IMPLS="ours debian"
[ -n "$S6" ] && IMPLS="$IMPLS s6"
W=$(mktemp -d /tmp/bench-runsvdir.XXXXXX)
STARTED=""

now_ns() { date +%s%N; }

# Every descendant of a pid (via /proc children lists).
tree() {
    local p=$1 c
    for c in $(cat /proc/$p/task/$p/children 2>/dev/null); do
        echo "$c"
        tree "$c"
    done
}

kill_tree() { # the root is stopped first: a runsvdir would restart a killed runsv at once
    local p=$1 all
    kill -STOP "$p" 2>/dev/null || true
    all="$p $(tree "$p")"
    kill -9 $all 2>/dev/null || true
}

cleanup() {
    for p in $STARTED; do kill_tree "$p"; done
    rm -rf "$W"
}
trap cleanup EXIT

# start_scanner IMPL DIR -> prints the scanner's pid
start_scanner() {
    local impl=$1 dir=$2
    case $impl in
    ours) PATH=$RUNSV_OURS:$PATH setsid "$OURS" "$dir" </dev/null >/dev/null 2>>"$W/$impl.log" & ;;
    debian) PATH=$RUNSV_DEB:$PATH setsid "$DEB" "$dir" </dev/null >/dev/null 2>>"$W/$impl.log" & ;;
    s6) PATH=$S6_BIN:$PATH setsid "${S6_CMD[@]}" -c $((N_UP * 2 + 16)) "$dir" </dev/null >/dev/null 2>>"$W/$impl.log" & ;;
    esac
    echo $!
}

notify() { # after a change in the scan dir
    [ "$1" = s6 ] && "${S6_CTL[@]}" -a "$2"
    return 0
}

wait_file() { # wait_file FILE SECONDS
    local end=$(($(date +%s) + $2))
    while [ ! -e "$1" ]; do
        [ "$(date +%s)" -gt "$end" ] && return 1
        sleep 0.002
    done
}

count_up() { ls "$1" | wc -l; }

wait_count() { # wait_count DIR N SECONDS
    local end=$(($(date +%s) + $3))
    while [ "$(count_up "$1")" -lt "$2" ]; do
        [ "$(date +%s)" -gt "$end" ] && return 1
        sleep 0.02
    done
}

stat_sum() { # pid -> "cpu_ns timeslices vol_ctxt invol_ctxt"
    local p=$1 cpu wait slices v iv
    read -r cpu wait slices </proc/$p/schedstat
    v=$(awk '/^voluntary_ctxt_switches/{print $2}' /proc/$p/status)
    iv=$(awk '/^nonvoluntary_ctxt_switches/{print $2}' /proc/$p/status)
    echo "$cpu $slices $v $iv"
}

rss_kb() { awk '/^VmRSS/{print $2}' /proc/$1/status; }
pss_kb() { awk '/^Pss:/{print $2}' /proc/$1/smaps_rollup 2>/dev/null || echo 0; }

median() { sort -n | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0 == 0) print "-"; else printf "%.1fx", b/a }'; }

declare -A R

# ------------------------------------------------------------------ 1. pickup latency
on() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }
on pickup && for impl in $IMPLS; do
    d=$W/pick-$impl
    mkdir -p "$d/sv" "$d/service"
    pid=$(start_scanner "$impl" "$d/service")
    STARTED="$STARTED $pid"
    sleep 1
    : >"$d/lat"
    for i in $(seq 1 "$N_PICKUP"); do
        mkdir -p "$d/sv/i$i"
        printf '#!/bin/sh\ndate +%%s%%N > %s/ran.%s\nexec sleep 100000\n' "$d" "$i" >"$d/sv/i$i/run"
        chmod +x "$d/sv/i$i/run"
        t0=$(now_ns)
        ln -s "$d/sv/i$i" "$d/service/i$i"
        notify "$impl" "$d/service"
        if wait_file "$d/ran.$i" 20; then
            echo $((($(cat "$d/ran.$i") - t0) / 1000)) >>"$d/lat" # microseconds
        else
            echo 20000000 >>"$d/lat"
        fi
        sleep 0.05
    done
    if [ "$impl" = debian ]; then
        # Back-to-back tries ride runit's 1-second "check" wake-up after each start; an
        # isolated add (nothing changed for 6 s) meets the plain 5-second poll.
        : >"$d/iso"
        for i in $(seq 1 "$N_ISOLATED"); do
            mkdir -p "$d/sv/x$i"
            printf '#!/bin/sh\ndate +%%s%%N > %s/ranx.%s\nexec sleep 100000\n' "$d" "$i" >"$d/sv/x$i/run"
            chmod +x "$d/sv/x$i/run"
            sleep 6.$((RANDOM % 1000))
            t0=$(now_ns)
            ln -s "$d/sv/x$i" "$d/service/x$i"
            wait_file "$d/ranx.$i" 20 && echo $((($(cat "$d/ranx.$i") - t0) / 1000)) >>"$d/iso"
        done
        R[iso_debian]=$(median <"$d/iso" | awk '{printf "%.1f", $1/1000}')
    fi
    R[pick_med_$impl]=$(median <"$d/lat" | awk '{printf "%.1f", $1/1000}')
    R[pick_max_$impl]=$(sort -n "$d/lat" | tail -1 | awk '{printf "%.1f", $1/1000}')
    kill_tree "$pid"
    echo "pickup $impl: median ${R[pick_med_$impl]} ms, max ${R[pick_max_$impl]} ms" >&2
done

# ------------------------------------------------------------------ 2 + 3. N_UP services, idle
on up && for impl in $IMPLS; do
    d=$W/up-$impl
    mkdir -p "$d/sv" "$d/service" "$d/up"
    for i in $(seq 1 "$N_UP"); do
        mkdir "$d/sv/s$i"
        printf '#!/bin/sh\n: > %s/up/s%s\nexec sleep 100000\n' "$d" "$i" >"$d/sv/s$i/run"
        chmod +x "$d/sv/s$i/run"
        ln -s "$d/sv/s$i" "$d/service/s$i"
    done
    t0=$(now_ns)
    pid=$(start_scanner "$impl" "$d/service")
    STARTED="$STARTED $pid"
    wait_count "$d/up" "$N_UP" 120 || echo "warning: $impl: only $(count_up "$d/up") up" >&2
    t1=$(now_ns)
    R[up_$impl]=$(((t1 - t0) / 1000000))
    sleep 3
    R[rss_$impl]=$(rss_kb "$pid")
    sup_rss=0
    sup_pss=0
    for c in $(cat /proc/$pid/task/$pid/children); do
        sup_rss=$((sup_rss + $(rss_kb "$c")))
        sup_pss=$((sup_pss + $(pss_kb "$c")))
    done
    R[suprss_$impl]=$((sup_rss / 1024))
    R[suppss_$impl]=$((sup_pss / 1024))
    read -r c0 s0 v0 i0 <<<"$(stat_sum "$pid")"
    sleep "$IDLE"
    read -r c1 s1 v1 i1 <<<"$(stat_sum "$pid")"
    R[idle_cpu_$impl]=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", (b-a)/1e6}')
    R[idle_wake_$impl]=$((s1 - s0))
    R[idle_ctx_$impl]=$((v1 - v0 + i1 - i0))
    kill_tree "$pid"
    echo "up $impl: ${R[up_$impl]} ms; idle: cpu ${R[idle_cpu_$impl]} ms, wake-ups ${R[idle_wake_$impl]}" >&2
    rm -rf "$d"
done

# ------------------------------------------------------------------ 4. shutdown of N_DOWN
setup_down() {
    local d=$1
    mkdir -p "$d/sv" "$d/service" "$d/up"
    for i in $(seq 1 "$N_DOWN"); do
        mkdir "$d/sv/s$i"
        printf '#!/bin/sh\n: > %s/up/s%s\nexec sleep 100000\n' "$d" "$i" >"$d/sv/s$i/run"
        chmod +x "$d/sv/s$i/run"
        ln -s "$d/sv/s$i" "$d/service/s$i"
    done
}

alive_count() { # pids... -> how many are alive and not zombies
    local n=0 p s
    for p in "$@"; do
        # builtin read, no fork: this loop must not be what is measured
        s=""
        { read -r _ _ s _ </proc/$p/stat; } 2>/dev/null || continue
        [ -n "$s" ] && [ "$s" != Z ] && n=$((n + 1))
    done
    echo $n
}

on down && for impl in $IMPLS pid1; do
    d=$W/down-$impl
    setup_down "$d"
    if [ $impl = pid1 ]; then
        PATH=$RUNSV_OURS:$PATH setsid unshare --pid --fork --mount-proc "$OURS" -P "$d/service" </dev/null >/dev/null 2>>"$W/pid1.log" &
        outer=$!
        STARTED="$STARTED $outer"
        pid=""
        while [ -z "$pid" ]; do
            sleep 0.01
            pid=$(cat /proc/$outer/task/$outer/children)
        done
        pid=${pid% }
    else
        pid=$(start_scanner "$impl" "$d/service")
        STARTED="$STARTED $pid"
    fi
    wait_count "$d/up" "$N_DOWN" 60 || echo "warning: $impl: only $(count_up "$d/up") up" >&2
    sleep 1
    pids=$(tree "$pid")
    t0=$(now_ns)
    case $impl in
    ours | debian) kill -HUP "$pid" ;;
    s6) "${S6_CTL[@]}" -t "$d/service" ;;
    pid1) kill -TERM "$pid" ;;
    esac
    end=$(($(date +%s) + 60))
    # shellcheck disable=SC2086
    while [ "$(alive_count $pids)" -gt 0 ] && [ "$(date +%s)" -le "$end" ]; do sleep 0.005; done
    t1=$(now_ns)
    R[down_$impl]=$(((t1 - t0) / 1000000))
    [ $impl = pid1 ] && kill_tree "$outer"
    kill_tree "$pid"
    echo "shutdown $impl: ${R[down_$impl]} ms" >&2
    rm -rf "$d"
done

# ------------------------------------------------------------------ report
echo
echo "runsvdir benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, runsv: ${RUNSV:-own})"
printf '%-44s %12s %12s %12s %10s\n' "measure" "runit-rs" "debian" "s6-svscan" "deb/ours"
row() { # label key unit
    local o=${R[$2_ours]:-} d=${R[$2_debian]:-} s=${R[$2_s6]:--}
    printf '%-44s %12s %12s %12s %10s\n' "$1" "$o$3" "$d$3" "$s$3" "$(ratio "$o" "$d")"
}
row "pickup latency, median (ms, n=$N_PICKUP)" pick_med ""
row "pickup latency, max (ms)" pick_max ""
row "$N_UP services up (ms)" up ""
row "scanner RSS (kB)" rss ""
row "supervisors RSS total (MB)" suprss ""
row "supervisors PSS total (MB)" suppss ""
row "idle ${IDLE}s: scanner CPU (ms)" idle_cpu ""
row "idle ${IDLE}s: scanner wake-ups (timeslices)" idle_wake ""
row "idle ${IDLE}s: scanner context switches" idle_ctx ""
row "shutdown of $N_DOWN services (ms)" down ""
printf '%-44s %12s\n' "shutdown, runit-rs as PID 1 + TERM (ms)" "${R[down_pid1]:-}"
printf '%-44s %12s %12s\n' "pickup, isolated adds (ms, n=$N_ISOLATED, median)" "" "${R[iso_debian]:-}"
