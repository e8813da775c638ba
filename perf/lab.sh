#!/usr/bin/env bash
# Sluice load lab: the same origin behind nginx, HAProxy and Sluice, each proxy pinned to one CPU, the load
# generator and the origin on another; max req/s with wrk, then latency at a fixed rate (half of nginx's max)
# with wrk2 or perf's constant-rate generator; several interleaved runs, medians, ratios to nginx.
#
# Run it as `bin/sluice perf lab [options]`, or directly as perf/lab.sh. See perf/README.md.
# Traffic goes to 127.0.0.1 only; every process it starts is stopped when it exits, however it exits.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bin/sluice perf lab [--quick] [--runs N] [--duration S] [options]

  --quick             smoke test: 1 run of 3 s per proxy, short warm-ups (about a minute in all);
                      does not touch BENCHMARKS.md unless --write is given
  --runs N            interleaved runs per proxy and phase (default 5)
  --duration S        seconds per measured run (default 10)
  --connections N     keep-alive connections of wrk and of the rate generator (default 64)
  --rate R            latency phase rate in req/s (default: half of nginx's median max req/s)
  --proxies LIST      comma-separated subset of nginx,haproxy,sluice,sluice-spin (default: nginx,haproxy,sluice);
                      sluice-spin is Sluice with idle: spin (busy-polling epoll), for dedicated cores
  --proxy-cpu N       CPU for the proxies (default 0)
  --load-cpu N        CPU for the load generator and the origin (default 1)
  --loadgen TOOL      latency tool: auto (wrk2 when on PATH), wrk2, or java (perf's RateGenerator)
  --write / --no-write
                      regenerate the lab section of BENCHMARKS.md; by default a full run does so unless
                      other processes disturbed it (>25% of a CPU), and --quick never does
  --profile           after the max runs, one more max run per proxy under `perf record` on the proxy CPU;
                      writes profile-<proxy>.txt (kernel vs user, hottest symbols) next to the results
  --no-install        do not apt-get install missing tools
  -h, --help          this text

Environment: SLUICE_HOME (repository root; default: this script's parent), SLUICE_JAVA (a JDK 25 java),
SLUICE_LAB_START_TIMEOUT (seconds to wait for each proxy to answer; default 120).
Raw outputs and logs are kept under perf/target/lab/<date>/.
EOF
}

# ---------------------------------------------------------------------------------------------- options

SLUICE_HOME=${SLUICE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export SLUICE_HOME
LAB_DIR=$SLUICE_HOME/perf/lab
JAR=$SLUICE_HOME/perf/target/benchmarks.jar
ORIGIN_PORT=18081
declare -A PORT=([sluice]=18080 [nginx]=18082 [haproxy]=18083 [sluice-spin]=18084)

QUICK=0 RUNS="" DURATION="" CONNECTIONS=64 RATE="" PROXIES="nginx,haproxy,sluice"
PROXY_CPU=0 LOAD_CPU=1 LOADGEN=auto WRITE="" INSTALL=1 PROFILE=0
ARGS_SHOWN="$*"
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) QUICK=1 ;;
        --runs) RUNS=${2:?--runs needs a value}; shift ;;
        --duration) DURATION=${2:?--duration needs a value}; shift ;;
        --connections) CONNECTIONS=${2:?--connections needs a value}; shift ;;
        --rate) RATE=${2:?--rate needs a value}; shift ;;
        --proxies) PROXIES=${2:?--proxies needs a value}; shift ;;
        --proxy-cpu) PROXY_CPU=${2:?--proxy-cpu needs a value}; shift ;;
        --load-cpu) LOAD_CPU=${2:?--load-cpu needs a value}; shift ;;
        --loadgen) LOADGEN=${2:?--loadgen needs a value}; shift ;;
        --write) WRITE=1 ;;
        --no-write) WRITE=0 ;;
        --no-install) INSTALL=0 ;;
        --profile) PROFILE=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "lab: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [[ $QUICK == 1 ]]; then
    RUNS=${RUNS:-1} DURATION=${DURATION:-3} WARMUP=1 LAT_WARMUP=1 WRITE=${WRITE:-0}
else
    RUNS=${RUNS:-5} DURATION=${DURATION:-10} WARMUP=5 LAT_WARMUP=3 WRITE=${WRITE:-auto}
fi
for v in RUNS DURATION CONNECTIONS PROXY_CPU LOAD_CPU; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "lab: $v must be a whole number, got '${!v}'" >&2; exit 2; }
done
[[ $RUNS -ge 1 && $DURATION -ge 1 && $CONNECTIONS -ge 1 ]] || { echo "lab: runs, duration, connections must be >= 1" >&2; exit 2; }
[[ -z $RATE || $RATE =~ ^[0-9]+$ ]] || { echo "lab: --rate must be a whole number of req/s" >&2; exit 2; }
IFS=, read -r -a SELECTED <<<"$PROXIES"
for p in "${SELECTED[@]}"; do
    [[ -n ${PORT[$p]:-} ]] || { echo "lab: unknown proxy '$p' (nginx, haproxy, sluice, sluice-spin)" >&2; exit 2; }
done
START_TIMEOUT=${SLUICE_LAB_START_TIMEOUT:-120}

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- machine

NCPU=$(nproc --all 2>/dev/null || getconf _NPROCESSORS_ONLN)
for c in "$PROXY_CPU" "$LOAD_CPU"; do
    [[ $c -lt $NCPU ]] || die "CPU $c does not exist here (CPUs 0..$((NCPU - 1))); use --proxy-cpu/--load-cpu"
done
[[ $PROXY_CPU != "$LOAD_CPU" ]] || die "the proxy and the load generator need different CPUs"

export PATH=$PATH:/usr/sbin:/sbin
need_install=()
for tool in nginx haproxy wrk curl taskset setsid; do
    command -v "$tool" >/dev/null 2>&1 || need_install+=("$tool")
done
if [[ ${#need_install[@]} -gt 0 ]]; then
    [[ $INSTALL == 1 ]] || die "missing: ${need_install[*]} (and --no-install was given)"
    [[ $(id -u) == 0 ]] || die "missing: ${need_install[*]}; install them (apt-get install nginx haproxy wrk curl util-linux) or run as root"
    pkgs=()
    for t in "${need_install[@]}"; do
        case $t in taskset|setsid) pkgs+=(util-linux) ;; *) pkgs+=("$t") ;; esac
    done
    log "installing ${pkgs[*]} (apt-get)"
    # Debian starts the packaged nginx/haproxy services on install; the lab runs its own instances, so keep
    # the packaged ones from starting, through the standard policy-rc.d hook (only if none is in place).
    policy_created=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_created=1
    fi
    rc=0
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; } || rc=$?
    [[ $policy_created == 1 ]] && rm -f /usr/sbin/policy-rc.d
    [[ $rc == 0 ]] || die "apt-get install ${pkgs[*]} failed"
fi

find_java() {
    local j
    for j in "${SLUICE_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" /usr/lib/jvm/temurin-25*/bin/java /usr/lib/jvm/*25*/bin/java java; do
        if [[ -z $j ]] || ! command -v "$j" >/dev/null 2>&1; then
            continue
        fi
        if "$j" -version 2>&1 | head -1 | grep -Eq '"25([."]|$)'; then
            command -v "$j"
            return 0
        fi
    done
    return 1
}
JAVA=$(find_java) || die "no JDK 25 found: set SLUICE_JAVA to a JDK 25 java"
export SLUICE_JAVA=$JAVA

if [[ $LOADGEN == auto ]]; then
    if command -v wrk2 >/dev/null 2>&1; then LOADGEN=wrk2; else LOADGEN=java; fi
fi
case $LOADGEN in
    wrk2) command -v wrk2 >/dev/null 2>&1 || die "--loadgen wrk2, but wrk2 is not on PATH" ;;
    java) ;;
    *) die "--loadgen must be auto, wrk2 or java" ;;
esac

# perf/target/benchmarks.jar holds the rate generator and the report; build it when missing or stale.
if [[ ! -f $JAR ]] || [[ -n $(find "$SLUICE_HOME/perf/src/main" "$SLUICE_HOME/perf/pom.xml" -newer "$JAR" -print -quit 2>/dev/null) ]]; then
    log "building perf/target/benchmarks.jar"
    if ! (cd "$SLUICE_HOME" && mvn -B -q -pl perf -am package -DskipTests); then
        [[ -f $JAR ]] || die "could not build perf/target/benchmarks.jar"
        log "build failed; using the existing, older perf/target/benchmarks.jar"
    fi
fi
# The rate generator's JVM: C1 only, because C2 compiling in bursts on the load CPU, which the generator
# shares with the origin, stalled its event loop for milliseconds (p99 3 ms instead of 0.2 ms at 20k req/s,
# even after 8 s of warm-up); C1 code is fast enough for 50k req/s and settles within the warm-up.
JAVA_FLAGS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:TieredStopAtLevel=1
            -XX:+UseSerialGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch -Dio.netty.leakDetection.level=disabled)

# wrk, HAProxy and nginx each hold one descriptor per connection; take what the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

STAMP=$(date -u +%Y%m%d-%H%M%S)
RESULTS=$SLUICE_HOME/perf/target/lab/$STAMP
mkdir -p "$RESULTS"
TSV=$RESULTS/results.tsv
: >"$TSV"
RUN_DIR=$(mktemp -d /tmp/sluice-lab.XXXXXX)
chmod 755 "$RUN_DIR" # nginx workers drop root and must reach their temp dirs below it

# ---------------------------------------------------------------------------------------------- processes

# start_service / stop_service / alive / cleanup traps / port_in_use: shared with the other labs.
# shellcheck source=lab/services.sh
source "$SLUICE_HOME/perf/lab/services.sh"

# Waits until the service answers 200 with the origin's body through its port.
wait_ready() { # name port timeout
    local name=$1 port=$2 deadline=$((SECONDS + $3)) body
    while ((SECONDS < deadline)); do
        alive "$name" || return 1
        body=$(curl -s -m 1 "http://127.0.0.1:$port/" 2>/dev/null || true)
        [[ $body == "hello, world" ]] && return 0
        sleep 0.2
    done
    return 2
}

# The most telling line of a failed service's log: its first error line, else its last line (colour codes,
# tabs and blank lines dropped).
log_summary() {
    local clean
    clean=$(sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/\t/ /g' "$1" 2>/dev/null | grep -v '^[[:space:]]*$' || true)
    { grep -i -m 1 -E 'error|exception|fatal|alert' <<<"$clean" || tail -n 1 <<<"$clean"; } | cut -c1-200
}

STATUS_REASON=""
start_proxy() { # name
    local p=$1 port=${PORT[$1]} out=$RESULTS/$1.log
    if port_in_use "$port"; then
        STATUS_REASON="port $port already in use by another process"
        return 1
    fi
    case $p in
        nginx)
            mkdir -p "$RUN_DIR/nginx/tmp"
            start_service nginx "$PROXY_CPU" "$out" nginx -p "$RUN_DIR/nginx/" -c "$LAB_DIR/nginx-proxy.conf" -e "$RUN_DIR/nginx/error.log" ;;
        haproxy)
            start_service haproxy "$PROXY_CPU" "$out" haproxy -db -f "$LAB_DIR/haproxy.cfg" ;;
        sluice)
            if [[ ! -x $SLUICE_HOME/bin/sluice ]]; then
                STATUS_REASON="not available: $SLUICE_HOME/bin/sluice does not exist yet"
                return 1
            fi
            start_service sluice "$PROXY_CPU" "$out" \
                "$SLUICE_HOME/bin/sluice" dataplane --config "$LAB_DIR/sluice.yaml" --cpus "$PROXY_CPU" ;;
        sluice-spin)
            start_service sluice-spin "$PROXY_CPU" "$out" \
                "$SLUICE_HOME/bin/sluice" dataplane --config "$LAB_DIR/sluice.yaml" --cpus "$PROXY_CPU" \
                --idle spin --port "${PORT[sluice-spin]}" ;;
    esac
    local rc=0
    wait_ready "$p" "$port" "$START_TIMEOUT" || rc=$?
    if [[ $rc == 0 ]]; then
        return 0
    fi
    if [[ $rc == 1 ]]; then
        STATUS_REASON="failed to start (exited): $(log_summary "$out")"
    else
        STATUS_REASON="failed to start: no correct answer on port $port within ${START_TIMEOUT}s"
    fi
    stop_service "$p"
    return 1
}

status() { printf 'status\t%s\t0\tstate\t%s\n' "$1" "$2" >>"$TSV"; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }

# ---------------------------------------------------------------------------------------------- CPU accounting

CLK_TCK=$(getconf CLK_TCK)

# "user system irq softirq total" ticks of one CPU from /proc/stat.
cpu_ticks() {
    awk -v c="cpu$1" '$1 == c { print $2 + $3, $4, $7, $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
# user+nice+system ticks of the whole machine.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 }' /proc/stat; }
# user+system ticks of every process in the lab's services' process groups.
lab_ticks() {
    local groups=" ${PGID[*]} " sum=0 line rest f
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        rest=${line##*) }
        # shellcheck disable=SC2086 # split the numeric fields on purpose
        set -- $rest
        [[ $groups == *" $3 "* ]] && sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}

CPU_BEFORE="" MACH_BEFORE=0 LAB_BEFORE=0
cpu_begin() {
    CPU_BEFORE=$(cpu_ticks "$PROXY_CPU")
    MACH_BEFORE=$(machine_ticks)
    LAB_BEFORE=$(lab_ticks)
}
# Records proxy CPU shares and the CPU used by processes outside the lab ("other"), as % of one CPU,
# over the last run_load: other = machine's user+system time - lab services' - load generator's.
cpu_end() { # phase target run
    local phase=$1 target=$2 run=$3 gen_s=$GEN_CPU secs=$GEN_WALL after mach lab
    after=$(cpu_ticks "$PROXY_CPU")
    mach=$(machine_ticks)
    lab=$(lab_ticks)
    read -r u0 s0 i0 si0 t0 <<<"$CPU_BEFORE"
    read -r u1 s1 i1 si1 t1 <<<"$after"
    awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v i=$((i1 - i0 + si1 - si0)) -v t=$((t1 - t0)) \
        -v m=$((mach - MACH_BEFORE)) -v l=$((lab - LAB_BEFORE)) -v g="$gen_s" -v hz="$CLK_TCK" -v secs="$secs" \
        -v ph="$phase" -v tg="$target" -v r="$run" 'BEGIN {
            if (t > 0) {
                printf "%s\t%s\t%s\tproxy_busy\t%.1f\n", ph, tg, r, 100 * (u + s + i) / t
                printf "%s\t%s\t%s\tproxy_user\t%.1f\n", ph, tg, r, 100 * u / t
                printf "%s\t%s\t%s\tproxy_sys\t%.1f\n", ph, tg, r, 100 * s / t
                printf "%s\t%s\t%s\tproxy_irq\t%.1f\n", ph, tg, r, 100 * i / t
            }
            other = (m - l - g * hz) / hz / secs * 100
            printf "%s\t%s\t%s\tother_cpu\t%.1f\n", ph, tg, r, (other < 0 ? 0 : other)
        }' >>"$TSV"
}


# ---------------------------------------------------------------------------------------------- parsing

parse_wrk() { # file phase target run
    local f=$1 ph=$2 tg=$3 r=$4 rps non2xx sock
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
    [[ -n $rps ]] || return 1
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
    sock=$(socket_errors "$f")
    record "$ph" "$tg" "$r" rps "$rps"
    record "$ph" "$tg" "$r" errors "$(( ${non2xx:-0} + ${sock:-0} ))"
    local p v
    for p in 50 90 99; do
        v=$(awk -v p="$p%" '$1 == p { print $2; exit }' "$f")
        [[ -n $v ]] && record "$ph" "$tg" "$r" "wrk_p${p}_us" "$(to_us "$v")"
    done
    return 0
}

# wrk2 --latency output: "Latency Distribution (HdrHistogram - Recorded Latency)" then " 50.000%  1.23ms".
parse_wrk2() { # file target run rate
    local f=$1 tg=$2 r=$3 rate=$4 rps non2xx sock
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
    [[ -n $rps ]] || return 1
    local key pct v
    for pair in p50_us:50.000% p90_us:90.000% p99_us:99.000% p999_us:99.900% max_us:100.000%; do
        key=${pair%%:*} pct=${pair#*:}
        v=$(awk -v p="$pct" '/Latency Distribution \(HdrHistogram - Recorded/ { on = 1; next }
                             on && $1 == p { print $2; exit }' "$f")
        [[ -n $v ]] && record lat "$tg" "$r" "$key" "$(to_us "$v")"
    done
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
    sock=$(socket_errors "$f")
    record lat "$tg" "$r" rate "$rate"
    record lat "$tg" "$r" achieved_rate "$rps"
    record lat "$tg" "$r" errors "$(( ${non2xx:-0} + ${sock:-0} ))"
}

parse_rategen() { # file target run
    local f=$1 tg=$2 r=$3 line
    line=$(grep '^RESULT ' "$f" | tail -n 1)
    [[ -n $line && $line != *error=* ]] || return 1
    local kv k v errors=0
    for kv in $line; do
        [[ $kv == *=* ]] || continue
        k=${kv%%=*} v=${kv#*=}
        case $k in
            target_rate) record lat "$tg" "$r" rate "$v" ;;
            achieved_rate|p50_us|p90_us|p99_us|p999_us|max_us|send_lag_p99_us) record lat "$tg" "$r" "$k" "$v" ;;
            non2xx|socket_errors|timeouts|unsent) errors=$((errors + v)) ;;
        esac
    done
    record lat "$tg" "$r" errors "$errors"
}

# ---------------------------------------------------------------------------------------------- the lab

log "results and logs: $RESULTS"
log "proxy CPU $PROXY_CPU, load CPU $LOAD_CPU; $RUNS run(s) x ${DURATION}s; latency tool: $LOADGEN"

# Origin.
port_in_use "$ORIGIN_PORT" && die "port $ORIGIN_PORT (the lab's origin) is already in use by another process"
mkdir -p "$RUN_DIR/origin/tmp"
start_service origin "$LOAD_CPU" "$RESULTS/origin.log" \
    nginx -p "$RUN_DIR/origin/" -c "$LAB_DIR/origin-nginx.conf" -e "$RUN_DIR/origin/error.log"
wait_ready origin "$ORIGIN_PORT" 20 || die "the origin (nginx on 127.0.0.1:$ORIGIN_PORT) did not start; see $RESULTS/origin.log"

# Proxies: start all (they sit idle while another one is measured), note the ones that cannot run.
ACTIVE=()
for p in "${SELECTED[@]}"; do
    log "starting $p on 127.0.0.1:${PORT[$p]}"
    if start_proxy "$p"; then
        ACTIVE+=("$p")
        status "$p" ok
    else
        log "$p: $STATUS_REASON"
        status "$p" "$STATUS_REASON"
    fi
done
[[ ${#ACTIVE[@]} -gt 0 ]] || log "no proxy could be started; only the origin will be measured"

lost() { # proxy phase run
    log "$1 is no longer running (during $2 run $3); it is left out from here on"
    status "$1" "stopped during the $2 phase, run $3; see perf/target/lab/$STAMP/$1.log"
    local keep=() q
    for q in "${ACTIVE[@]}"; do [[ $q == "$1" ]] || keep+=("$q"); done
    ACTIVE=("${keep[@]}")
}

run_wrk() { # outfile seconds port
    run_load "$1" wrk -t1 -c"$CONNECTIONS" -d"$2"s --timeout 2s --latency "http://127.0.0.1:$3/"
}

# Warm-up: JIT of the JVM, connection pools, caches. Not recorded.
for p in "${ACTIVE[@]}"; do
    log "warming up $p (${WARMUP}s)"
    run_wrk /dev/null "$WARMUP" "${PORT[$p]}"
done

# The load side's ceiling: the origin directly, once.
log "origin without a proxy (${DURATION}s)"
run_wrk "$RESULTS/max-origin-1.txt" "$DURATION" "$ORIGIN_PORT"
parse_wrk "$RESULTS/max-origin-1.txt" max origin 1 || log "could not read wrk's output for the origin"

# Phase 1: max req/s, interleaved.
for run in $(seq "$RUNS"); do
    for p in "${ACTIVE[@]}"; do
        alive "$p" || { lost "$p" max "$run"; continue; }
        out=$RESULTS/max-$p-$run.txt
        cpu_begin
        run_wrk "$out" "$DURATION" "${PORT[$p]}"
        cpu_end max "$p" "$run"
        if parse_wrk "$out" max "$p" "$run"; then
            log "max   run $run/$RUNS  $(printf '%-8s' "$p") $(awk '/^Requests\/sec:/ { printf "%.0f req/s", $2 }' "$out")"
        else
            log "max   run $run/$RUNS  $p: no result (see $out)"
        fi
        alive "$p" || lost "$p" max "$run"
    done
done

# Optional: where the proxy's time goes at max load. A flat profile of the proxy's own processes (kernel
# time spent on their behalf included; no call graphs, so no frame pointers needed). Sluice's
# JIT-compiled methods are named through the JVM's perf map, written on request by jcmd.
if [[ $PROFILE == 1 ]]; then
    if ! command -v perf >/dev/null 2>&1; then
        log "--profile: perf is not installed (apt-get install linux-perf); no profiles"
    else
        for p in "${ACTIVE[@]}"; do
            alive "$p" || continue
            pids=$(pgrep -d, -g "${PGID[$p]}" || true)
            [[ -n $pids ]] || continue
            log "profiling $p (${DURATION}s at max load)"
            data=$RUN_DIR/perf-$p.data
            perf record -q -F 999 -p "$pids" -o "$data" -- sleep "$DURATION" >/dev/null 2>&1 &
            perf_pid=$!
            run_wrk "$RESULTS/profile-run-$p.txt" "$DURATION" "${PORT[$p]}"
            wait "$perf_pid" 2>/dev/null || true
            maps=()
            for pid in $(pgrep -g "${PGID[$p]}" java || true); do
                jcmd=$(dirname "$JAVA")/jcmd
                if [[ -x $jcmd ]] && "$jcmd" "$pid" Compiler.perfmap >/dev/null 2>&1; then
                    maps+=("/tmp/perf-$pid.map")
                fi
            done
            {
                echo "$p at max load ($(awk '/^Requests\/sec:/ { printf "%.0f req/s", $2 }' "$RESULTS/profile-run-$p.txt")):"
                echo "share of samples by binary ([kernel.kallsyms] = the kernel, working for $p)"
                perf report -i "$data" --stdio --sort dso --percent-limit 1 2>/dev/null | grep -v -e '^#' -e '^$'
                echo
                echo "hottest symbols"
                perf report -i "$data" --stdio --sort dso,sym --percent-limit 0.5 2>/dev/null \
                    | grep -v -e '^#' -e '^$' | sed -e 's/  */ /g' | head -50
            } >"$RESULTS/profile-$p.txt"
            rm -f "$data" "${maps[@]}"
            log "profile: perf/target/lab/$STAMP/profile-$p.txt"
        done
    fi
fi

# Phase 2: latency at a fixed rate.
BASIS="half of nginx's median max req/s"
if [[ -z $RATE ]]; then
    RATE=$(awk -F'\t' '$1 == "max" && $2 == "nginx" && $4 == "rps" { print $5 }' "$TSV" | sort -g \
        | awk '{ a[NR] = $1 } END { if (NR) printf "%d", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 2 }')
    if [[ -z $RATE ]]; then
        RATE=$(awk -F'\t' '$1 == "max" && $2 != "origin" && $4 == "rps" && $5 > m { m = $5 } END { if (m) printf "%d", m / 2 }' "$TSV")
        BASIS="nginx not measured: half of the best proxy's max req/s"
    fi
    if [[ -z $RATE ]]; then
        RATE=10000
        BASIS="no proxy measured: a default"
    fi
else
    BASIS="set with --rate"
fi
log "latency phase at $RATE req/s ($BASIS)"

for run in $(seq "$RUNS"); do
    for p in "${ACTIVE[@]}"; do
        alive "$p" || { lost "$p" latency "$run"; continue; }
        out=$RESULTS/lat-$p-$run.txt
        url="http://127.0.0.1:${PORT[$p]}/"
        if [[ $LOADGEN == wrk2 ]]; then
            run_load /dev/null wrk2 -t1 -c"$CONNECTIONS" -d"$LAT_WARMUP"s -R"$RATE" "$url"
            cpu_begin
            run_load "$out" wrk2 -t1 -c"$CONNECTIONS" -d"$DURATION"s -R"$RATE" --timeout 2s --latency "$url"
            cpu_end lat "$p" "$run"
            parse_wrk2 "$out" "$p" "$run" "$RATE" || log "lat   run $run/$RUNS  $p: no result (see $out)"
        else
            cpu_begin
            run_load "$out" "$JAVA" "${JAVA_FLAGS[@]}" -cp "$JAR" io.sluice.perf.loadgen.RateGenerator \
                --rate "$RATE" --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$LAT_WARMUP" "$url"
            cpu_end lat "$p" "$run"
            parse_rategen "$out" "$p" "$run" || log "lat   run $run/$RUNS  $p: no result (see $out)"
        fi
        log "lat   run $run/$RUNS  $(printf '%-8s' "$p") $(awk -F'\t' -v p="$p" -v r="$run" '$1 == "lat" && $2 == p && $3 == r && $4 ~ /^(p50|p99|p999)_us$/ { sub(/_us$/, "", $4); printf "%s %.0f us  ", $4, $5 }' "$TSV")"
        alive "$p" || lost "$p" latency "$run"
    done
done

# ---------------------------------------------------------------------------------------------- report

first() { "$@" 2>&1 | head -n 1; }
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command=bin/sluice perf lab${ARGS_SHOWN:+ $ARGS_SHOWN}"
    echo "cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "cpus=$NCPU"
    echo "hypervisor=$(lscpu 2>/dev/null | awk -F': *' '/^Hypervisor vendor/ { print $2 }')"
    echo "kernel=$(uname -r)"
    echo "nginx_version=$(first nginx -v | sed 's|.*nginx/||')"
    echo "haproxy_version=$(first haproxy -v | awk '{ print $3 }')"
    echo "wrk_version=$(first wrk -v | awk '{ print $2 }')"
    echo "java_version=$(first "$JAVA" -version | sed 's/"//g')"
    commit=$(git -C "$SLUICE_HOME" rev-parse --short HEAD 2>/dev/null || echo "(no commit)")
    git -C "$SLUICE_HOME" diff-index --quiet HEAD -- 2>/dev/null || commit="$commit + uncommitted changes"
    echo "sluice_commit=$commit"
    echo "quick=$QUICK"
    echo "runs=$RUNS"
    echo "duration_s=$DURATION"
    echo "warmup_s=$WARMUP"
    echo "lat_warmup_s=$LAT_WARMUP"
    echo "connections=$CONNECTIONS"
    echo "proxy_cpu=$PROXY_CPU"
    echo "load_cpu=$LOAD_CPU"
    echo "proxies=$(IFS=,; echo "${SELECTED[*]}")"
    echo "lat_rate=$RATE"
    echo "lat_rate_basis=$BASIS"
    echo "body_bytes=13"
    if [[ $LOADGEN == wrk2 ]]; then
        echo "latency_tool=wrk2 (-t1 -R)"
        echo "latency_tool_short=wrk2"
    else
        echo "latency_tool=perf's RateGenerator (constant rate, Netty epoll, HdrHistogram; C1-only JVM)"
        echo "latency_tool_short=RateGenerator"
    fi
} >"$RESULTS/facts.txt"

report=("$JAVA" -cp "$JAR" io.sluice.perf.lab.LabReport --results "$TSV" --facts "$RESULTS/facts.txt"
        --section-out "$RESULTS/lab-section.md")
case $WRITE in
    1) report+=(--benchmarks "$SLUICE_HOME/BENCHMARKS.md") ;;
    auto) report+=(--benchmarks "$SLUICE_HOME/BENCHMARKS.md" --if-undisturbed) ;;
esac
"${report[@]}" | tee "$RESULTS/summary.txt"
log "raw outputs: $RESULTS"

# A lab in which no proxy could be measured at all is broken (missing packages, ports taken): say so.
if ! awk -F'\t' '$1 == "max" && $2 != "origin" && $4 == "rps" { found = 1 } END { exit !found }' "$TSV"; then
    log "no proxy was measured"
    exit 1
fi
