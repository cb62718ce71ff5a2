#!/bin/sh
# Tests the sv completions in completions/: sv.bash (bash), _sv (zsh) and sv.fish (fish).
#
# A temporary SVDIR holds two services, alpha and beta (beta with a log service), plus a
# dot entry and a plain file that must never be offered. Each installed shell must
# complete service names from SVDIR (also after options and a second name), NAME/ to
# NAME/log, command words, and the options before the command. A shell that is not
# installed is reported with a SKIP line; any wrong completion is a FAIL line and makes
# the script exit 1.
#
#   tests/completions.sh
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
comp=$root/completions
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 111' INT TERM HUP
mkdir -p "$tmp/sv/alpha" "$tmp/sv/beta/log" "$tmp/sv/.hidden" "$tmp/cwd/adir" "$tmp/home"
: >"$tmp/sv/afile"
: >"$tmp/cwd/alpha-file"
SVDIR=$tmp/sv
HOME=$tmp/home
export SVDIR HOME
unset XDG_DATA_HOME XDG_CONFIG_HOME BASH_COMPLETION_USER_DIR 2>/dev/null || true
cd "$tmp/cwd" || exit 111

failures=0
checks=0
# check NAME EXPECTED ACTUAL
check() {
    checks=$((checks + 1))
    if [ "$2" = "$3" ]; then
        echo "ok: $1"
    else
        echo "FAIL: $1: expected [$2], got [$3]"
        failures=$((failures + 1))
    fi
}

# ---- bash: call _sv with COMP_WORDS/COMP_CWORD set; print the sorted candidates
if command -v bash >/dev/null 2>&1; then
    # bash_complete PRELUDE WORD... (the last WORD is the one being completed)
    bash_complete() {
        prelude=$1
        shift
        bash --norc --noprofile -c '
            eval "$1" || exit 111
            shift
            COMP_WORDS=("$@")
            COMP_CWORD=$(($# - 1))
            COMP_LINE="$*"
            COMP_POINT=${#COMP_LINE}
            _sv sv "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf "%s\n" "${COMPREPLY[@]}"' bash "$prelude" "$@" |
            sed '/^$/d' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
    }
    src=". '$comp/sv.bash'"
    check "bash: service name" "alpha" "$(bash_complete "$src" sv status a)"
    check "bash: all services" "alpha beta" "$(bash_complete "$src" sv status '')"
    check "bash: second service" "beta" "$(bash_complete "$src" sv status alpha b)"
    check "bash: after -v -w 5" "beta" "$(bash_complete "$src" sv -v -w 5 restart b)"
    check "bash: after -w5" "alpha beta" "$(bash_complete "$src" sv -w5 up '')"
    check "bash: log service" "beta/log" "$(bash_complete "$src" sv status beta/)"
    check "bash: no file, no dot entry" "" "$(bash_complete "$src" sv status af)"
    check "bash: commands" "start status stop" "$(bash_complete "$src" sv -v st)"
    check "bash: force commands" "force-shutdown force-stop" "$(bash_complete "$src" sv force-s)"
    check "bash: options" "-v -w" "$(bash_complete "$src" sv -)"
    check "bash: seconds of -w" "" "$(bash_complete "$src" sv -w '')"
    check "bash: ./NAME is a directory of the cwd" "./adir" "$(bash_complete "$src" sv status ./a)"
    # Installed under its bash-completion name and loaded on demand by bash-completion.
    bc=
    for f in /usr/share/bash-completion/bash_completion /etc/bash_completion; do
        if [ -f "$f" ]; then
            bc=$f
            break
        fi
    done
    if [ -n "$bc" ]; then
        mkdir -p "$tmp/bc/completions"
        cp "$comp/sv.bash" "$tmp/bc/completions/sv"
        load=". '$bc'; BASH_COMPLETION_USER_DIR='$tmp/bc'; __load_completion sv && complete -p sv >/dev/null"
        check "bash: loaded by bash-completion as completions/sv" "alpha" \
            "$(bash_complete "$load" sv status a)"
    else
        echo "SKIP: bash: bash-completion not installed (the on-demand loading is not tested)"
    fi
else
    echo "SKIP: bash: not installed"
fi

# ---- zsh: an interactive zsh -f in a zpty; type the line, TAB, then ^T, bound to a
# widget that writes $BUFFER to a file. Only unique completions are checked (the buffer
# then holds the completed word and a space).
if command -v zsh >/dev/null 2>&1 && zsh -f -c 'zmodload zsh/zpty' 2>/dev/null; then
    cat >"$tmp/zsh-driver" <<'EOF'
comp=$1 out=$2
shift 2
zmodload zsh/zpty || exit 111
: >$out
zpty z zsh -f -i
zpty -w z "PS1='%% '; fpath=($comp \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "dump() { print -r -- \"<\$BUFFER>\" >>$out; BUFFER=; }; zle -N dump; bindkey '^T' dump"
integer n=0 i
for line in "$@"; do
  # one line at a time: wait (at most 5 s) for its answer before typing the next
  zpty -w -n z "$line"$'\t'$'\x14'
  (( n++ ))
  for (( i = 0; i < 500; i++ )); do
    (( $(wc -l <$out) >= n )) && break
    sleep 0.01
  done
done
zpty -d z
EOF
    zsh -f "$tmp/zsh-driver" "$comp" "$tmp/zsh-out" \
        'sv status a' \
        'sv status alpha b' \
        'sv -v -w 3 down b' \
        'sv status beta/' \
        'sv status af' \
        'sv -v resta' \
        'sv force-sh' \
        'sv -w5 ch'
    zsh_line() { sed -n "${1}p" "$tmp/zsh-out"; }
    check "zsh: service name" "<sv status alpha >" "$(zsh_line 1)"
    check "zsh: second service" "<sv status alpha beta >" "$(zsh_line 2)"
    check "zsh: after -v -w 3" "<sv -v -w 3 down beta >" "$(zsh_line 3)"
    check "zsh: log service" "<sv status beta/log >" "$(zsh_line 4)"
    check "zsh: no file, no dot entry" "<sv status af>" "$(zsh_line 5)"
    check "zsh: command" "<sv -v restart >" "$(zsh_line 6)"
    check "zsh: force command" "<sv force-shutdown >" "$(zsh_line 7)"
    check "zsh: command after -w5" "<sv -w5 check >" "$(zsh_line 8)"
else
    echo "SKIP: zsh: not installed (or without the zsh/zpty module)"
fi

# ---- fish: complete -C prints the candidates, one a line, a tab before the description
if command -v fish >/dev/null 2>&1; then
    noconfig=--no-config
    fish --no-config -c true 2>/dev/null || noconfig=
    fish_complete() {
        # shellcheck disable=SC2016
        fish $noconfig -c 'source $argv[1]; and complete -C $argv[2]' "$comp/sv.fish" "$1" |
            cut -f1 | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
    }
    check "fish: service name" "alpha" "$(fish_complete 'sv status a')"
    check "fish: all services" "alpha beta" "$(fish_complete 'sv status ')"
    check "fish: second service" "beta" "$(fish_complete 'sv status alpha b')"
    check "fish: after -v -w 3" "beta" "$(fish_complete 'sv -v -w 3 down b')"
    check "fish: log service" "beta/log" "$(fish_complete 'sv status beta/')"
    check "fish: no file, no dot entry" "" "$(fish_complete 'sv status af')"
    check "fish: commands" "start status stop" "$(fish_complete 'sv -v st')"
    check "fish: options" "-v -w" "$(fish_complete 'sv -')"
    check "fish: seconds of -w" "" "$(fish_complete 'sv -w ')"
else
    echo "SKIP: fish: not installed"
fi

if [ "$failures" -ne 0 ]; then
    echo "completions: $failures of $checks checks failed"
    exit 1
fi
echo "completions: $checks checks passed"
