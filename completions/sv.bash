# bash completion for sv(8) of runit-rs.
# Installed as /usr/share/bash-completion/completions/sv (loaded on demand by
# bash-completion), or sourced directly.
#
# Completes the options -v and -w before the command, the command words, and then
# service names: the directories in $SVDIR or, when SVDIR is unset, in the first existing
# of /service/, /etc/service/ and /var/service/ (sv's own default). Names starting with
# "/" or "." are taken relative to the current directory, as sv does, and complete as
# directories; "NAME/" completes to NAME/log when that log service exists.

_sv_svdir()
{
    if [[ -n ${SVDIR+set} ]]; then
        printf '%s' "$SVDIR"
        return
    fi
    local d
    for d in /service/ /etc/service/ /var/service/; do
        if [[ -d $d ]]; then
            printf '%s' "$d"
            return
        fi
    done
}

_sv_services()
{
    local cur=$1 dir name
    case $cur in
        /* | .*)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            return
            ;;
    esac
    dir=$(_sv_svdir)
    [[ -n $dir && -d $dir ]] || return
    dir=${dir%/}
    if [[ $cur == */* ]]; then
        name=${cur%%/*}
        if [[ -d $dir/$name/log && $name/log == "$cur"* ]]; then
            COMPREPLY=("$name/log")
        fi
        return
    fi
    COMPREPLY=()
    while IFS= read -r name; do
        name=${name#"$dir/"}
        [[ $name == .* ]] && continue
        COMPREPLY+=("$name")
    done < <(compgen -d -- "$dir/$cur")
}

_sv()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local commands='status up down once pause cont hup alarm interrupt quit 1 2 term kill
        exit start stop reload restart shutdown force-stop force-reload force-restart
        force-shutdown try-restart check'
    local i word skip=0 endopts=0 command_at=0

    # Options come before the command; -w takes a value (attached, or the next word).
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if ((skip)); then
            skip=0
            continue
        fi
        if ((!endopts)); then
            case $word in
                --) endopts=1; continue ;;
                -*w) skip=1; continue ;;
                -?*) continue ;;
            esac
        fi
        command_at=$i
        break
    done

    COMPREPLY=()
    if ((command_at == 0)); then
        if ((skip)); then
            return # the seconds of -w
        fi
        if ((!endopts)) && [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W '-v -w' -- "$cur")
        else
            mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
        fi
        return
    fi
    _sv_services "$cur"
}

complete -F _sv sv
