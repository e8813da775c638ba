#!/usr/bin/env bash
# Steering lab (issue 7): how many connections the data plane serves on the CPU that received them, and what it is
# worth in throughput, with each steering mode (none = the kernel's SO_REUSEPORT hash, cbpf, acceptor).
#
#   bin/sluice perf steering [options]          in two network namespaces joined by a multi-queue veth, tuned by
#                                               nic-tuning (needs root, ip, ethtool, wrk, curl, nginx)
#   bin/sluice perf steering --node --config FILE --load 'CMD'
#                                               on a real node tuned by `nic-tuning apply --yes`, with load from
#                                               another machine
#
# See BENCHMARKS.md, "Hardware awareness (issue 7)". Every process it starts is stopped, and every namespace it
# creates deleted, when it exits, however it exits.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bin/sluice perf steering [--runs N] [--duration S] [options]         (network-namespace lab)
       bin/sluice perf steering --node --config FILE --load 'CMD' [options]  (a real tuned node)

  --runs N            interleaved runs per mode (default 3)
  --duration S        seconds per measured wrk run (default 10)
  --warmup S          seconds of load after each start, not measured (default 5)
  --connections N     wrk connections (default 64)
  --threads N         wrk threads (default 2)
  --modes LIST        steering modes to compare (default none,cbpf,acceptor)
  --workloads LIST    close (a new connection per request: accept-heavy) and/or keepalive (default both)
  --cpus LIST         shard CPUs, one veth queue each (default: the first 4 CPUs this process may use)
  --write             put the summary into BENCHMARKS.md between the steering-lab markers
  --keep              keep the namespaces and the run directory after the lab (for inspection)
  -h, --help          this text

Real node (--node): the data plane runs here with your config and the core map nic-tuning wrote, once per mode and
run; the load is your command, run from this host (e.g. over ssh on a load machine), which must print wrk's
"Requests/sec:" and "N requests in" lines:
  --config FILE       the data plane config (listeners, backends)
  --coremap FILE      core map (default /etc/sluice/coremap.json)
  --load 'CMD'        e.g. "ssh loadgen wrk -t8 -c512 -d30s -H 'Connection: close' http://10.0.0.10:8080/"

Environment: SLUICE_HOME (repository root), SLUICE_JAVA (a JDK 25 java). Results: perf/target/steering-lab/<date>/.
EOF
}

SLUICE_HOME=${SLUICE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
RUNS=3 DURATION=10 WARMUP=5 CONNECTIONS=64 THREADS=2 MODES=none,cbpf,acceptor WORKLOADS=close,keepalive
CPUS="" WRITE=0 KEEP=0 NODE=0 CONFIG="" COREMAP=/etc/sluice/coremap.json LOAD=""
ARGS_SHOWN="$*"
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) RUNS=${2:?}; shift ;;
        --duration) DURATION=${2:?}; shift ;;
        --warmup) WARMUP=${2:?}; shift ;;
        --connections) CONNECTIONS=${2:?}; shift ;;
        --threads) THREADS=${2:?}; shift ;;
        --modes) MODES=${2:?}; shift ;;
        --workloads) WORKLOADS=${2:?}; shift ;;
        --cpus) CPUS=${2:?}; shift ;;
        --write) WRITE=1 ;;
        --keep) KEEP=1 ;;
        --node) NODE=1 ;;
        --config) CONFIG=${2:?}; shift ;;
        --coremap) COREMAP=${2:?}; shift ;;
        --load) LOAD=${2:?}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "steering-lab: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
for v in RUNS DURATION WARMUP CONNECTIONS THREADS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "steering-lab: $v must be a whole number" >&2; exit 2; }
done
IFS=, read -r -a MODE_LIST <<<"$MODES"
IFS=, read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
for m in "${MODE_LIST[@]}"; do
    case $m in none|cbpf|acceptor|auto) ;; *) echo "steering-lab: unknown mode $m" >&2; exit 2 ;; esac
done
for w in "${WORKLOAD_LIST[@]}"; do
    case $w in close|keepalive) ;; *) echo "steering-lab: unknown workload $w" >&2; exit 2 ;; esac
done
if [[ $NODE == 1 ]]; then
    [[ -n $CONFIG && -n $LOAD ]] || { echo "steering-lab: --node needs --config FILE and --load 'CMD'" >&2; exit 2; }
    [[ $WRITE == 0 ]] || { echo "steering-lab: --write is for the namespace lab; node results stay in their directory" >&2; exit 2; }
fi

log() { printf '[steering-lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[steering-lab] error: %s\n' "$*" >&2; exit 1; }

export PATH=$PATH:/usr/sbin:/sbin
[[ $(id -u) == 0 ]] || die "needs root (network namespaces, nic-tuning apply; on a node: the same as the data plane)"
needed=(curl taskset setsid)
[[ $NODE == 1 ]] || needed+=(ip ethtool wrk nginx)
for tool in "${needed[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || die "missing $tool (apt-get install iproute2 ethtool wrk curl nginx util-linux)"
done

find_java() {
    local j
    for j in "${SLUICE_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" /usr/lib/jvm/temurin-25*/bin/java /usr/lib/jvm/*25*/bin/java java; do
        [[ -n $j ]] && command -v "$j" >/dev/null 2>&1 || continue
        if "$j" -version 2>&1 | head -1 | grep -Eq '"25([."]|$)'; then command -v "$j"; return 0; fi
    done
    return 1
}
JAVA=$(find_java) || die "no JDK 25 found: set SLUICE_JAVA"

# The data plane and nic-tuning jars, built once up front (never while measuring).
DP_JAR=$SLUICE_HOME/dataplane/target/sluice-dataplane-0.1.0-SNAPSHOT.jar
NT_JAR=$SLUICE_HOME/nic-tuning/target/sluice-nic-tuning-0.1.0-SNAPSHOT.jar
if [[ ! -f $DP_JAR || ! -f $NT_JAR || ! -d $SLUICE_HOME/dataplane/target/lib ]] || \
   [[ -n $(find "$SLUICE_HOME/dataplane/src/main" "$SLUICE_HOME/nic-tuning/src/main" -newer "$DP_JAR" -print -quit 2>/dev/null) ]]; then
    log "building the data plane and nic-tuning (mvn -B -q -DskipTests package)"
    (cd "$SLUICE_HOME" && mvn -B -q -DskipTests -pl dataplane,nic-tuning -am package >&2) || die "build failed"
fi
DP_CP="$DP_JAR:$SLUICE_HOME/dataplane/target/lib/*"
# As bin/sluice runs the data plane.
JVM_FLAGS=(--add-exports java.base/jdk.internal.misc=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
           --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xms256m -Xmx1g -XX:+AlwaysPreTouch
           -Dio.netty.leakDetection.level=disabled -Dio.netty.tryReflectionSetAccessible=true)

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
STAMP=$(date -u +%Y%m%d-%H%M%S)
RESULTS=$SLUICE_HOME/perf/target/steering-lab/$STAMP
mkdir -p "$RESULTS"
TSV=$RESULTS/results.tsv
printf 'run\tmode\tworkload\treq_per_s\trequests\tdp_cpu_us_per_req\n' >"$TSV"
LOCALITY_TSV=$RESULTS/locality.tsv
printf 'run\tmode\ton_receiving_cpu\tconnections\tper_shard\n' >"$LOCALITY_TSV"
RUN_DIR=$(mktemp -d /tmp/sluice-steering-lab.XXXXXX)
chmod 755 "$RUN_DIR" # nginx workers drop root and must reach their files below it

# ------------------------------------------------------------------------------------------------ clean-up

NS_S=sluice-steer-srv-$$
NS_C=sluice-steer-cli-$$
NS_CREATED=()
PGIDS=()
cleanup() {
    local rc=$? g
    for g in "${PGIDS[@]}"; do
        kill -TERM -- "-$g" 2>/dev/null || true
    done
    sleep 0.5
    for g in "${PGIDS[@]}"; do
        kill -KILL -- "-$g" 2>/dev/null || true
    done
    if [[ $KEEP == 0 ]]; then
        for ns in "${NS_CREATED[@]}"; do
            ip netns del "$ns" 2>/dev/null || log "could not delete namespace $ns"
        done
        rm -rf "$RUN_DIR"
    elif [[ ${#NS_CREATED[@]} -gt 0 ]]; then
        log "kept namespaces ${NS_CREATED[*]} and $RUN_DIR (--keep): delete them with ip netns del"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts "$@" in its own session (so one signal stops it and its children); sets STARTED_PID.
start_bg() { # log cmd...
    local out=$1
    shift
    setsid "$@" >"$out" 2>&1 </dev/null &
    STARTED_PID=$!
    PGIDS+=("$STARTED_PID")
}

stop_bg() { # pid: SIGTERM (the data plane prints its locality line on the way out), wait up to 15 s
    local pid=$1 i
    kill -TERM -- "-$pid" 2>/dev/null || true
    for i in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cpu_ticks() { # pid -> utime+stime of the process and all its threads, in clock ticks
    local stat rest
    stat=$(<"/proc/$1/stat") || { echo 0; return; }
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $(( ${12} + ${13} ))
}
CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------------------------------------------------------ set-up

in_srv=() in_cli=()
if [[ $NODE == 0 ]]; then
    mapfile -t ALLOWED < <(taskset -cp $$ | sed 's/.*: //' | tr ',' '\n' | while IFS=- read -r a b; do seq "$a" "${b:-$a}"; done)
    if [[ -z $CPUS ]]; then
        CPUS=$(printf '%s\n' "${ALLOWED[@]:0:4}" | paste -sd, -)
    fi
    IFS=, read -r -a CPU_LIST <<<"$CPUS"
    QUEUES=${#CPU_LIST[@]}
    [[ $QUEUES -ge 2 ]] || die "needs at least 2 CPUs for 2 shards (got $CPUS)"
    MASK=0
    for c in "${CPU_LIST[@]}"; do MASK=$(( MASK | (1 << c) )); done
    MASK_HEX=$(printf '%x' "$MASK")

    log "namespaces $NS_S (data plane, origin) and $NS_C (load), veth va <-> vb with $QUEUES queues"
    ip netns add "$NS_S" && NS_CREATED+=("$NS_S")
    ip netns add "$NS_C" && NS_CREATED+=("$NS_C")
    ip link add va numrxqueues "$QUEUES" numtxqueues "$QUEUES" netns "$NS_S" type veth \
        peer name vb numrxqueues "$QUEUES" numtxqueues "$QUEUES" netns "$NS_C"
    ip -n "$NS_S" addr add 10.77.0.1/24 dev va
    ip -n "$NS_C" addr add 10.77.0.2/24 dev vb
    for ns in "$NS_S" "$NS_C"; do ip -n "$ns" link set lo up; done
    ip -n "$NS_S" link set va up
    ip -n "$NS_C" link set vb up
    in_srv=(ip netns exec "$NS_S")
    in_cli=(ip netns exec "$NS_C")

    COREMAP=$RUN_DIR/coremap.json
    log "nic-tuning apply --yes --nic va --cpus $CPUS (inside $NS_S)"
    "${in_srv[@]}" "$JAVA" -cp "$NT_JAR" io.sluice.nictuning.NicTuningMain apply --yes --nic va --cpus "$CPUS" \
        --coremap "$COREMAP" --state "$RUN_DIR/nic-tuning-state.json" >"$RESULTS/nic-tuning-apply.txt" 2>&1 \
        || { cat "$RESULTS/nic-tuning-apply.txt" >&2; die "nic-tuning apply failed"; }
    cp "$COREMAP" "$RESULTS/coremap.json"
    # veth hands every received packet to RPS as if it came from queue 0 (it does not record the receive queue),
    # so nic-tuning's per-queue masks (rx-i -> shard i's CPU) would put every flow on shard 0's CPU. Each queue
    # gets all shard CPUs instead: RPS then spreads flows over them by the flow hash, like a NIC's RSS with one
    # queue per CPU. Each connection is then received, consistently, on the CPU its hash picks.
    for ((q = 0; q < QUEUES; q++)); do
        "${in_srv[@]}" sh -c "echo $MASK_HEX > /sys/class/net/va/queues/rx-$q/rps_cpus"
    done
    # The load side opens a connection per request in the close workload: let it reuse TIME_WAIT ports.
    "${in_cli[@]}" sysctl -q -w net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
    "${in_srv[@]}" sysctl -q -w net.ipv4.tcp_tw_reuse=1

    mkdir -p "$RUN_DIR/origin/tmp"
    cat >"$RUN_DIR/origin.conf" <<'EOF'
worker_processes 1;
daemon off;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path tmp/client_body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
    server {
        listen 127.0.0.1:18091 backlog=4096;
        location / { default_type text/plain; return 200 "hello, world\n"; }
    }
}
EOF
    start_bg "$RESULTS/origin.log" "${in_srv[@]}" nginx -p "$RUN_DIR/origin" -c "$RUN_DIR/origin.conf" -e error.log
    CONFIG=$RUN_DIR/sluice.yaml
    cat >"$CONFIG" <<'EOF'
listeners:
  - {address: 10.77.0.1, port: 8080}
idle: block
timeouts: {connectMs: 2000, readMs: 30000, idleMs: 60000}
backends:
  - name: origin
    endpoints: ["127.0.0.1:18091"]
routes:
  - host: ""
    paths:
      - {path: /, type: Prefix, backend: origin}
defaultBackend: origin
EOF
    URL=http://10.77.0.1:8080/
else
    [[ -f $CONFIG ]] || die "no config $CONFIG"
    [[ -f $COREMAP ]] || log "no core map at $COREMAP: shards on every CPU, no RSS-aware ports (run nic-tuning apply --yes)"
    if [[ -f $COREMAP ]]; then
        "$JAVA" -cp "$NT_JAR" io.sluice.nictuning.NicTuningMain verify --coremap "$COREMAP" >"$RESULTS/nic-tuning-verify.txt" 2>&1 \
            && log "nic-tuning verify: no drift" \
            || log "nic-tuning verify reports drift or an error: see $RESULTS/nic-tuning-verify.txt"
    fi
    URL=""
fi

# ------------------------------------------------------------------------------------------------ runs

# Waits for the data plane's ready line (and, in the lab, for a request through it to succeed).
await_ready() { # log
    local i
    for i in $(seq 600); do
        if grep -q "sluice data plane ready" "$1" 2>/dev/null; then
            [[ -z $URL ]] && return 0
            "${in_cli[@]}" curl -s -o /dev/null -m 2 "$URL" && return 0
        fi
        kill -0 "$DP_PID" 2>/dev/null || { cat "$1" >&2; die "the data plane exited"; }
        sleep 0.1
    done
    cat "$1" >&2
    die "the data plane did not become ready in 60 s"
}

load_cmd() { # workload seconds -> the command line (array LOAD_ARGV)
    local extra=()
    [[ $1 == close ]] && extra=(-H 'Connection: close')
    LOAD_ARGV=("${in_cli[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s "${extra[@]}" "$URL")
}

for ((run = 1; run <= RUNS; run++)); do
    for mode in "${MODE_LIST[@]}"; do
        dplog=$RESULTS/dataplane-$mode-$run.log
        start_bg "$dplog" "${in_srv[@]}" "$JAVA" "${JVM_FLAGS[@]}" -cp "$DP_CP" io.sluice.dataplane.DataPlaneMain \
            dataplane --config "$CONFIG" --coremap "$COREMAP" --steering "$mode"
        DP_PID=$STARTED_PID
        await_ready "$dplog"
        log "run $run/$RUNS, $mode: $(grep -m1 'steering=' "$dplog" | sed 's/^sluice: //')"
        if [[ $NODE == 0 ]]; then
            load_cmd close "$WARMUP"
            "${LOAD_ARGV[@]}" >"$RESULTS/warmup-$mode-$run.txt" 2>&1 || true
            for w in "${WORKLOAD_LIST[@]}"; do
                load_cmd "$w" "$DURATION"
                t0=$(cpu_ticks "$DP_PID")
                "${LOAD_ARGV[@]}" >"$RESULTS/wrk-$mode-$w-$run.txt" 2>&1 || log "wrk failed: $RESULTS/wrk-$mode-$w-$run.txt"
                t1=$(cpu_ticks "$DP_PID")
                rps=$(awk '/^Requests\/sec:/ {print $2}' "$RESULTS/wrk-$mode-$w-$run.txt")
                n=$(awk '/requests in/ {print $1}' "$RESULTS/wrk-$mode-$w-$run.txt")
                cpu=$(awk -v d=$((t1 - t0)) -v n="${n:-0}" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.1f", d * 1e6 / hz / n; else print "nan" }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$mode" "$w" "${rps:-0}" "${n:-0}" "$cpu" >>"$TSV"
                log "  $w: ${rps:-?} req/s, data plane ${cpu} CPU-us/request"
            done
        else
            t0=$(cpu_ticks "$DP_PID")
            bash -c "$LOAD" >"$RESULTS/load-$mode-$run.txt" 2>&1 || log "load command failed: $RESULTS/load-$mode-$run.txt"
            t1=$(cpu_ticks "$DP_PID")
            rps=$(awk '/^Requests\/sec:/ {print $2}' "$RESULTS/load-$mode-$run.txt")
            n=$(awk '/requests in/ {print $1}' "$RESULTS/load-$mode-$run.txt")
            cpu=$(awk -v d=$((t1 - t0)) -v n="${n:-0}" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.1f", d * 1e6 / hz / n; else print "nan" }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$mode" load "${rps:-0}" "${n:-0}" "$cpu" >>"$TSV"
            log "  load: ${rps:-?} req/s, data plane ${cpu} CPU-us/request"
        fi
        stop_bg "$DP_PID"
        line=$(grep -m1 '^sluice: locality' "$dplog" || true)
        on=$(sed -nE 's/.*\(([0-9]+) of ([0-9]+) connections.*/\1/p' <<<"$line")
        all=$(sed -nE 's/.*\(([0-9]+) of ([0-9]+) connections.*/\2/p' <<<"$line")
        per=$(sed -nE 's/.*per shard local\/all \{([^}]*)\}.*/\1/p' <<<"$line")
        printf '%s\t%s\t%s\t%s\t%s\n' "$run" "$mode" "${on:-0}" "${all:-0}" "$per" >>"$LOCALITY_TSV"
        log "  locality: ${on:-?} of ${all:-?} connections on their receiving CPU (per shard local/all: $per)"
    done
done

# ------------------------------------------------------------------------------------------------ summary

SUMMARY=$RESULTS/summary.md
python3 - "$TSV" "$LOCALITY_TSV" "$SUMMARY" "$MODES" <<'PY'
import csv, statistics, sys
tsv, loc_tsv, out, modes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
rows = list(csv.DictReader(open(tsv), delimiter="\t"))
loc = list(csv.DictReader(open(loc_tsv), delimiter="\t"))
workloads = []
for r in rows:
    if r["workload"] not in workloads:
        workloads.append(r["workload"])
def med(vals):
    vals = [v for v in vals if v == v]
    return statistics.median(vals) if vals else float("nan")
lines = ["| mode | connections on their receiving CPU | " + " | ".join(
    f"{w}: req/s (median, min-max) | {w}: data plane CPU-µs/req | {w}: vs none" for w in workloads) + " |",
    "| --- | ---: | " + " | ".join("---: | ---: | ---:" for _ in workloads) + " |"]
base = {}
for w in workloads:
    v = [float(r["req_per_s"]) for r in rows if r["mode"] == "none" and r["workload"] == w]
    base[w] = med(v) if v else None
for m in modes:
    on = sum(int(r["on_receiving_cpu"]) for r in loc if r["mode"] == m)
    allc = sum(int(r["connections"]) for r in loc if r["mode"] == m)
    share = f"{100.0 * on / allc:.1f}% ({on} of {allc})" if allc else "n/a"
    cells = [m, share]
    for w in workloads:
        v = [float(r["req_per_s"]) for r in rows if r["mode"] == m and r["workload"] == w]
        c = [float(r["dp_cpu_us_per_req"]) for r in rows if r["mode"] == m and r["workload"] == w
             and r["dp_cpu_us_per_req"] != "nan"]
        if not v:
            cells += ["-", "-", "-"]
            continue
        mv = med(v)
        cells.append(f"{mv:,.0f} ({min(v):,.0f}-{max(v):,.0f})")
        cells.append(f"{med(c):.1f}" if c else "-")
        cells.append(f"{mv / base[w]:.2f}×" if base.get(w) else "-")
    lines.append("| " + " | ".join(cells) + " |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY

{
    echo
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), kernel $(uname -r))"
    if [[ $NODE == 0 ]]; then
        echo "with \`bin/sluice perf steering $ARGS_SHOWN\`: shards on CPUs $CPUS, veth with $QUEUES queues, wrk -t$THREADS -c$CONNECTIONS, $RUNS interleaved runs of ${DURATION} s per mode and workload after ${WARMUP} s of warm-up; raw results in perf/target/steering-lab/$STAMP/."
    else
        echo "on a tuned node with \`bin/sluice perf steering $ARGS_SHOWN\`; raw results in perf/target/steering-lab/$STAMP/."
    fi
} >>"$SUMMARY"
log "summary: $SUMMARY"

if [[ $WRITE == 1 ]]; then
    BENCH=$SLUICE_HOME/BENCHMARKS.md
    grep -q '<!-- steering-lab:begin -->' "$BENCH" && grep -q '<!-- steering-lab:end -->' "$BENCH" \
        || die "BENCHMARKS.md has no steering-lab markers"
    python3 - "$BENCH" "$SUMMARY" <<'PY'
import sys
bench, summary = sys.argv[1], sys.argv[2]
text = open(bench).read()
begin, end = "<!-- steering-lab:begin -->", "<!-- steering-lab:end -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(bench, "w").write(head + begin + "\n" + open(summary).read() + end + tail)
PY
    log "updated the steering-lab figures in BENCHMARKS.md"
fi
