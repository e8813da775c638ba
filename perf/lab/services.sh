# shellcheck shell=bash
# Process handling shared by the load labs (perf/lab.sh, perf/tls-lab.sh), sourced by them after they define
# log, RUN_DIR and RESULTS. It installs the EXIT/INT/TERM traps that stop every service the lab started.

# Every service runs in its own session (setsid), so one signal to its process group stops it with all
# its children (nginx workers, the JVM behind bin/sluice) and nothing else.
declare -A PGID=()
STARTED=()

start_service() { # name cpu log cmd...
    local name=$1 cpu=$2 out=$3
    shift 3
    setsid taskset -c "$cpu" "$@" >"$out" 2>&1 </dev/null &
    PGID[$name]=$!
    STARTED+=("$name")
}

# True while a process of group $1 still runs (zombies, which only wait for us to reap them, do not count).
group_running() {
    local f line rest
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        rest=${line##*) }
        # shellcheck disable=SC2086 # split the numeric fields on purpose
        set -- $rest
        [[ $3 == "$1" && $1 != Z ]] && return 0
    done
    return 1
}

stop_service() {
    local name=$1 g=${PGID[$1]:-}
    [[ -n $g ]] || return 0
    kill -TERM -- "-$g" 2>/dev/null || true
    for _ in $(seq 50); do
        group_running "$g" || break
        sleep 0.1
    done
    kill -KILL -- "-$g" 2>/dev/null || true
    wait "$g" 2>/dev/null || true
    unset "PGID[$name]"
}

# True while the service's main process runs (not exited, not a zombie).
alive() {
    local pid=${PGID[$1]:-} line
    [[ -n $pid ]] && read -r line 2>/dev/null <"/proc/$pid/stat" || return 1
    line=${line##*) }
    [[ ${line:0:1} != Z ]]
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n ${LOAD_PID:-} ]]; then # a load run in progress: its one child is wrk or a load client
        pkill -TERM -P "$LOAD_PID" 2>/dev/null || true
        wait "$LOAD_PID" 2>/dev/null || true
    fi
    for name in "${STARTED[@]}"; do
        stop_service "$name"
    done
    if [[ -d $RUN_DIR ]]; then
        for f in "$RUN_DIR"/*/error.log; do
            if [[ -s $f ]]; then
                cp "$f" "$RESULTS/$(basename "$(dirname "$f")")-error.log" 2>/dev/null || true
            fi
        done
        rm -rf "$RUN_DIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
