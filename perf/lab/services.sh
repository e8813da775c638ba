# shellcheck shell=bash
# Process handling and load/parse helpers shared by the load labs (perf/lab.sh, perf/tls-lab.sh), sourced by
# them after they define log, RUN_DIR, RESULTS and LOAD_CPU. It installs the EXIT/INT/TERM traps that stop every service the lab started.

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

# Runs a load command on the load CPU; its output goes to $1, its wall-clock seconds to $GEN_WALL and its
# user+system CPU seconds to $GEN_CPU.
# It runs in the background and is waited for, so that a signal to the lab is handled at once (bash runs
# traps only between foreground commands) and cleanup can stop the load too.
GEN_CPU=0 GEN_WALL=1 LOAD_PID=""
run_load() { # outfile cmd...
    local out=$1 tf=$RUN_DIR/time.$$
    shift
    (TIMEFORMAT='%R %U %S'; time taskset -c "$LOAD_CPU" "$@" >"$out" 2>&1) 2>"$tf" &
    LOAD_PID=$!
    wait "$LOAD_PID" || true
    LOAD_PID=""
    read -r GEN_WALL GEN_CPU <<<"$(awk 'END { print $1, $2 + $3 }' "$tf" 2>/dev/null)"
    GEN_WALL=${GEN_WALL:-1} GEN_CPU=${GEN_CPU:-0}
}

# Sum of wrk's "Socket errors: connect A, read B, write C, timeout D".
socket_errors() { awk '/Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i } END { print s + 0 }' "$1"; }

# wrk latency value (e.g. 812.00us, 1.20ms, 2.00s) in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /m$/) print n * 60e6;
        else if (v ~ /s$/) print n * 1e6; else print n }'
}
