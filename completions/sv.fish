# fish completion for sv(8) of runit-rs. Install as
# /usr/share/fish/vendor_completions.d/sv.fish (or ~/.config/fish/completions/sv.fish).
#
# Completes the options -v and -w before the command, the command words, and then
# service names: the directories in $SVDIR or, when SVDIR is unset, in the first existing
# of /service/, /etc/service/ and /var/service/ (sv's own default). Names starting with
# "/" or "." are taken relative to the current directory, as sv does; "NAME/" completes to
# NAME/log when that log service exists.

function __fish_sv_svdir
    if set -q SVDIR
        echo -- $SVDIR
        return
    end
    for d in /service/ /etc/service/ /var/service/
        if test -d $d
            echo -- $d
            return
        end
    end
end

# True while the command word has not been typed yet (options come before it).
function __fish_sv_needs_command
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l skip 0
    set -l endopts 0
    for t in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        if test $endopts = 0
            switch $t
                case --
                    set endopts 1
                    continue
                case '-*w'
                    set skip 1
                    continue
                case '-?*'
                    continue
            end
        end
        return 1
    end
    return 0
end

# True right after -w (or -vw): the word is a number of seconds.
function __fish_sv_wants_seconds
    set -l tokens (commandline -opc)
    __fish_sv_needs_command; or return 1
    string match -q -- '-*w' $tokens[-1]
end

function __fish_sv_services
    set -l cur (commandline -ct)
    if string match -q -r -- '^[/.]' $cur
        __fish_complete_directories $cur
        return
    end
    set -l dir (__fish_sv_svdir)
    test -n "$dir"; and test -d "$dir"; or return
    set dir (string replace -r -- '/$' '' $dir)
    if string match -q -- '*/*' $cur
        set -l name (string split -m1 -- / $cur)[1]
        test -d "$dir/$name/log"; and printf '%s\tlog service\n' "$name/log"
        return
    end
    for f in $dir/*
        test -d $f; or continue
        printf '%s\tservice\n' (string replace -r -- '.*/' '' $f)
    end
end

complete -c sv -f
complete -c sv -n '__fish_sv_needs_command; and not __fish_sv_wants_seconds' -s v -d 'Wait until each command has taken effect'
complete -c sv -n '__fish_sv_needs_command; and not __fish_sv_wants_seconds' -s w -x -d 'Wait at most this many seconds (implies -v)'

set -l __fish_sv_cond '__fish_sv_needs_command; and not __fish_sv_wants_seconds'
complete -c sv -n $__fish_sv_cond -a status -d 'Show the state of the service'
complete -c sv -n $__fish_sv_cond -a up -d 'Start the service and keep it running'
complete -c sv -n $__fish_sv_cond -a down -d 'Stop the service and keep it down'
complete -c sv -n $__fish_sv_cond -a once -d 'Start the service but do not restart it'
complete -c sv -n $__fish_sv_cond -a pause -d 'Send STOP'
complete -c sv -n $__fish_sv_cond -a cont -d 'Send CONT'
complete -c sv -n $__fish_sv_cond -a hup -d 'Send HUP'
complete -c sv -n $__fish_sv_cond -a alarm -d 'Send ALRM'
complete -c sv -n $__fish_sv_cond -a interrupt -d 'Send INT'
complete -c sv -n $__fish_sv_cond -a quit -d 'Send QUIT'
complete -c sv -n $__fish_sv_cond -a 1 -d 'Send USR1'
complete -c sv -n $__fish_sv_cond -a 2 -d 'Send USR2'
complete -c sv -n $__fish_sv_cond -a term -d 'Send TERM'
complete -c sv -n $__fish_sv_cond -a kill -d 'Send KILL'
complete -c sv -n $__fish_sv_cond -a exit -d 'Stop the service, then its runsv'
complete -c sv -n $__fish_sv_cond -a start -d 'up, and wait'
complete -c sv -n $__fish_sv_cond -a stop -d 'down, and wait'
complete -c sv -n $__fish_sv_cond -a reload -d 'hup, and wait'
complete -c sv -n $__fish_sv_cond -a restart -d 'term, cont and up, and wait'
complete -c sv -n $__fish_sv_cond -a shutdown -d 'exit, and wait'
complete -c sv -n $__fish_sv_cond -a force-stop -d 'stop, KILL on timeout'
complete -c sv -n $__fish_sv_cond -a force-reload -d 'try-restart, KILL on timeout'
complete -c sv -n $__fish_sv_cond -a force-restart -d 'restart, KILL on timeout'
complete -c sv -n $__fish_sv_cond -a force-shutdown -d 'shutdown, KILL on timeout'
complete -c sv -n $__fish_sv_cond -a try-restart -d 'restart if wanted up, and wait'
complete -c sv -n $__fish_sv_cond -a check -d 'Wait until the service is in its wanted state'
set -e __fish_sv_cond

complete -c sv -n 'not __fish_sv_needs_command' -a '(__fish_sv_services)'
