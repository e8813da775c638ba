#!/usr/bin/env bash
# Sluice ops lab (issue 8): what operations cost and what a dead backend costs.
#
#  1. Metrics cost: three Sluice processes on the proxy CPU: metrics off (-Dsluice.metrics=off, no access log),
#     metrics on (no access log), metrics on plus a JSON access log of every request to a file; wrk runs against them
#     in turn (interleaved, same origin on the load CPU), /metrics is scraped every second during the runs with
#     metrics; medians of max req/s.
#  2. Backend kill: three origins behind Sluice (outlier detection and TCP health checks on), constant-rate load with
#     perf's RateGenerator; one origin is killed a third into the run; reports the share of failed requests and the
#     time from the kill to the first passive ejection and to the active checks' verdict.
#
# Run it as `bin/sluice perf ops [options]`. Writes BENCHMARKS.md between <!-- ops-lab:begin --> and
# <!-- ops-lab:end --> unless --no-write (--quick never writes). Traffic stays on 127.0.0.1.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: bin/sluice perf ops [--quick] [--runs N] [--duration S] [--connections N] [--rate R]
                           [--proxy-cpu N] [--load-cpu N] [--write|--no-write]
  --quick          smoke run: 1 run of 3 s per variant, a 6 s kill run; never writes BENCHMARKS.md unless --write
  --runs N         interleaved max-throughput runs per variant (default 5)
  --duration S     seconds per max-throughput run (default 10)
  --connections N  wrk connections (default 64)
  --rate R         constant rate of the backend-kill run in req/s (default 5000; --quick 2000)
  --proxy-cpu N    CPU for Sluice (default 0); --load-cpu N: CPU for load and origins (default 1)
Raw outputs: perf/target/ops-lab/<date>/.
USAGE
}

SLUICE_HOME=${SLUICE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
QUICK=0 RUNS="" DURATION="" CONNECTIONS=64 RATE="" PROXY_CPU=0 LOAD_CPU=1 WRITE=""
ARGS_SHOWN="$*"
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) QUICK=1 ;;
        --runs) RUNS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --connections) CONNECTIONS=$2; shift ;;
        --rate) RATE=$2; shift ;;
        --proxy-cpu) PROXY_CPU=$2; shift ;;
        --load-cpu) LOAD_CPU=$2; shift ;;
        --write) WRITE=1 ;;
        --no-write) WRITE=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "ops-lab: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [[ $QUICK == 1 ]]; then
    RUNS=${RUNS:-1} DURATION=${DURATION:-3} RATE=${RATE:-2000} KILL_SECONDS=6 WRITE=${WRITE:-0}
else
    RUNS=${RUNS:-5} DURATION=${DURATION:-10} RATE=${RATE:-5000} KILL_SECONDS=30 WRITE=${WRITE:-1}
fi
for t in wrk nginx curl taskset setsid; do
    command -v "$t" >/dev/null || { echo "ops-lab: '$t' is needed (apt-get install wrk nginx curl util-linux)" >&2; exit 1; }
done
JAVA=${SLUICE_JAVA:?run through bin/sluice perf ops (it finds JDK 25)}
JAR=$SLUICE_HOME/perf/target/benchmarks.jar

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$SLUICE_HOME/perf/target/ops-lab/$STAMP
RUN_DIR=$(mktemp -d /tmp/sluice-ops-lab.XXXXXX)
mkdir -p "$RESULTS"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
    rm -rf "$RUN_DIR"
}
trap cleanup EXIT
log() { printf '[ops-lab %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# start NAME CPU CMD...: a process group of its own (so cleanup stops its children too); pid in $LAST_PID
start() {
    local name=$1 cpu=$2; shift 2
    setsid taskset -c "$cpu" "$@" >"$RESULTS/$name.log" 2>&1 </dev/null &
    LAST_PID=$!
    disown "$LAST_PID" 2>/dev/null || true # no "Killed" job notice when the kill run SIGKILLs an origin
    PIDS+=("$LAST_PID")
}
wait_http() { # URL SECONDS [HOST]
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        curl -fs -o /dev/null -H "Host: ${3:-ops.lab}" "$1" && return 0
        sleep 0.1
    done
    return 1
}
origin() { # NAME PORT
    mkdir -p "$RUN_DIR/$1/tmp"
    sed -e "s/127.0.0.1:18081/127.0.0.1:$2/" "$SLUICE_HOME/perf/lab/origin-nginx.conf" >"$RUN_DIR/$1/nginx.conf"
    start "$1" "$LOAD_CPU" nginx -p "$RUN_DIR/$1/" -c "$RUN_DIR/$1/nginx.conf" -e "$RUN_DIR/$1/error.log"
    wait_http "http://127.0.0.1:$2/" 20 || { echo "ops-lab: origin $1 did not start" >&2; exit 1; }
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ------------------------------------------------------------------------------------------- 1. metrics cost
O1=21281 ON=21280 OFF=21282 LOG=21287 ON_ADMIN=21290 OFF_ADMIN=21291 LOG_ADMIN=21293
origin origin "$O1"
common() { # PORT ADMIN_PORT
    cat <<YAML
listeners: [{port: $1, address: 127.0.0.1}]
coreMap: none
steering: none
admin: {address: 127.0.0.1, port: $2}
shutdown: {drainSeconds: 1}
backends:
  - name: origin
    endpoints: ["127.0.0.1:$O1"]
routes:
  - host: ""
    paths: [{path: /, type: Prefix, backend: origin}]
YAML
}
{ common "$LOG" "$LOG_ADMIN"; echo "accessLog: {path: $RUN_DIR/access.json, format: json, sample: 1.0}"; } \
    >"$RUN_DIR/log.yaml"
common "$ON" "$ON_ADMIN" >"$RUN_DIR/on.yaml"
common "$OFF" "$OFF_ADMIN" >"$RUN_DIR/off.yaml"
start sluice-on "$PROXY_CPU" "$SLUICE_HOME/bin/sluice" dataplane --config "$RUN_DIR/on.yaml" --cpus "$PROXY_CPU"
start sluice-log "$PROXY_CPU" "$SLUICE_HOME/bin/sluice" dataplane --config "$RUN_DIR/log.yaml" --cpus "$PROXY_CPU"
export SLUICE_JAVA_OPTS=-Dsluice.metrics=off
start sluice-off "$PROXY_CPU" "$SLUICE_HOME/bin/sluice" dataplane --config "$RUN_DIR/off.yaml" --cpus "$PROXY_CPU"
unset SLUICE_JAVA_OPTS
wait_http "http://127.0.0.1:$ON/" 120 && wait_http "http://127.0.0.1:$OFF/" 120 && wait_http "http://127.0.0.1:$LOG/" 120 \
    || { echo "ops-lab: Sluice did not start; see $RESULTS/sluice-*.log" >&2; exit 1; }
log "warming up the three variants"
for p in $ON $OFF $LOG; do taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$((QUICK ? 2 : 5))"s "http://127.0.0.1:$p/" >/dev/null; done
: >"$RESULTS/max.tsv"
for ((run = 1; run <= RUNS; run++)); do
    order=(off on log)
    for ((k = 0; k < 3; k++)); do # the order rotates per run, so a drift in the machine's load hits every variant
        v=${order[(k + run - 1) % 3]}
        case $v in off) port=$OFF admin=$OFF_ADMIN ;; on) port=$ON admin=$ON_ADMIN ;; log) port=$LOG admin=$LOG_ADMIN ;; esac
        scraper=""
        if [[ $v != off ]]; then # scrape /metrics every second during the run, as Prometheus would (more often)
            (while true; do curl -fs "http://127.0.0.1:$admin/metrics" -o "$RESULTS/metrics-during-run-$v.txt"; sleep 1; done) &
            scraper=$!
        fi
        taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION"s --timeout 2s "http://127.0.0.1:$port/" \
            >"$RESULTS/max-$v-$run.txt"
        [[ -n $scraper ]] && { kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true; }
        rps=$(awk '/^Requests\/sec:/ { print $2 }' "$RESULTS/max-$v-$run.txt")
        printf '%s\t%s\t%s\n' "$v" "$run" "$rps" >>"$RESULTS/max.tsv"
        log "run $run $v: $rps req/s"
    done
done
MED_ON=$(awk -F'\t' '$1 == "on" { print $3 }' "$RESULTS/max.tsv" | median)
MED_OFF=$(awk -F'\t' '$1 == "off" { print $3 }' "$RESULTS/max.tsv" | median)
MED_LOG=$(awk -F'\t' '$1 == "log" { print $3 }' "$RESULTS/max.tsv" | median)
cost() { awk -v a="$MED_OFF" -v b="$1" 'BEGIN { if (a > 0) printf "%.1f", (a - b) * 100 / a; else print "n/a" }'; }
COST=$(cost "$MED_ON") COST_LOG=$(cost "$MED_LOG")
SERIES=$(grep -c '^sluice_' "$RESULTS/metrics-during-run-on.txt" || true)
SCRAPED=$(awk '/^sluice_requests_total/ { s += $NF } END { printf "%d", s }' "$RESULTS/metrics-during-run-on.txt")
LOGGED=$(wc -l <"$RUN_DIR/access.json" || echo 0)
DROPPED=$(awk '/^sluice_access_log_dropped_total/ { s += $NF } END { printf "%d", s }' "$RESULTS/metrics-during-run-log.txt")
log "off: $MED_OFF req/s; metrics: $MED_ON ($COST %); metrics + access log: $MED_LOG ($COST_LOG %)"
for p in "${PIDS[@]:1}"; do kill -TERM -- "-$p" 2>/dev/null || true; done # the Sluices; the origin stays
sleep 2

# ------------------------------------------------------------------------------------------- 2. backend kill
B1=21283 B2=21284 B3=21285 KP=21286 KADMIN=21292
origin b1 "$B1"; origin b2 "$B2"; origin b3 "$B3"
B3_PID=$LAST_PID
cat >"$RUN_DIR/kill.yaml" <<YAML
listeners: [{port: $KP, address: 127.0.0.1}]
coreMap: none
steering: none
admin: {address: 127.0.0.1, port: $KADMIN}
shutdown: {drainSeconds: 1}
timeouts: {connectMs: 1000, readMs: 2000, idleMs: 60000}
health: {type: tcp, intervalMs: 1000, jitterMs: 100, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2}
outlier: {consecutive5xx: 5, consecutiveConnectFailures: 3, baseEjectionMs: 30000, maxEjectionPercent: 50}
retry: {budgetPercent: 20, minRetriesPerSecond: 10}
backends:
  - name: three
    endpoints: ["127.0.0.1:$B1", "127.0.0.1:$B2", "127.0.0.1:$B3"]
routes:
  - host: ""
    paths: [{path: /, type: Prefix, backend: three}]
YAML
start sluice-kill "$PROXY_CPU" "$SLUICE_HOME/bin/sluice" dataplane --config "$RUN_DIR/kill.yaml" --cpus "$PROXY_CPU"
wait_http "http://127.0.0.1:$KP/" 120 || { echo "ops-lab: Sluice (kill run) did not start" >&2; exit 1; }
log "constant $RATE req/s for ${KILL_SECONDS}s over three origins; killing 127.0.0.1:$B3 after $((KILL_SECONDS / 3))s"
taskset -c "$LOAD_CPU" "$JAVA" -cp "$JAR" io.sluice.perf.loadgen.RateGenerator --rate "$RATE" -c 32 \
    -d "${KILL_SECONDS}s" -w 1s "http://127.0.0.1:$KP/" >"$RESULTS/kill-load.txt" 2>&1 &
LOAD=$!
sleep $((1 + KILL_SECONDS / 3))
KILLED_AT=$(date +%s%N)
kill -KILL -- "-$B3_PID" 2>/dev/null || true
while kill -0 "$LOAD" 2>/dev/null; do sleep 0.2; done
wait "$LOAD" || true
curl -fs "http://127.0.0.1:$KADMIN/metrics" -o "$RESULTS/metrics-after-kill.txt" || true
# The data plane stamps the first ejection and the health change itself (Unix time): exact, not a polling interval.
since_kill() { # METRIC: milliseconds from the kill to the earliest sample of METRIC for the killed origin
    awk -v m="$1" -v ep="endpoint=\"127.0.0.1:$B3\"" -v k="$KILLED_AT" '
        index($0, m "{") == 1 && index($0, ep) { t = $NF * 1000; if (!s || t < s) s = t }
        END { if (s) printf "%d", s - k / 1000000 }' "$RESULTS/metrics-after-kill.txt"
}
EJECTED_MS=$(since_kill sluice_endpoint_last_ejection_timestamp_seconds)
UNHEALTHY_MS=$(since_kill sluice_endpoint_health_changed_timestamp_seconds)
R=$(grep '^RESULT' "$RESULTS/kill-load.txt" || echo "RESULT error=no-result")
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$R"; }
REQ=$(kv requests) NON2XX=$(kv non2xx) SOCKERR=$(kv socket_errors) TIMEOUTS=$(kv timeouts)
FAILED=$(( ${NON2XX:-0} + ${SOCKERR:-0} + ${TIMEOUTS:-0} ))
SHARE=$(awk -v f="$FAILED" -v n="${REQ:-0}" 'BEGIN { if (n > 0) printf "%.4f", f * 100 / n; else print "n/a" }')
CONNERR=$(awk '/^sluice_upstream_connect_errors_total/ { s += $NF } END { printf "%d", s }' "$RESULTS/metrics-after-kill.txt")
RETRIES=$(awk '/^sluice_retries_total/ { s += $NF } END { printf "%d", s }' "$RESULTS/metrics-after-kill.txt")
log "kill: $FAILED failed of ${REQ:-?} ($SHARE %), ejected after ${EJECTED_MS:-never} ms, unhealthy after ${UNHEALTHY_MS:-never} ms"

# ------------------------------------------------------------------------------------------- report
REPORT=$RESULTS/report.md
{
    echo "<!-- ops-lab:begin -->"
    echo "### Operations: metrics cost and a backend killed under load"
    echo
    echo "Generated by \`bin/sluice perf ops${ARGS_SHOWN:+ $ARGS_SHOWN}\` on $(date -u +%Y-%m-%d) ($(nproc) CPUs, $(uname -r));"
    echo "Sluice on CPU $PROXY_CPU, wrk / RateGenerator and nginx origins on CPU $LOAD_CPU. Raw outputs: \`perf/target/ops-lab/$STAMP/\`."
    [[ $QUICK == 1 ]] && echo && echo "**Smoke run (--quick): not a measurement.**"
    echo
    echo "| variant | max req/s (median of $RUNS × ${DURATION}s, $CONNECTIONS connections) |"
    echo "| --- | --- |"
    echo "| metrics off (\`-Dsluice.metrics=off\`), no access log | $MED_OFF |"
    echo "| metrics on, /metrics scraped every second | $MED_ON |"
    echo "| metrics on, scraped, plus a JSON access log of every request (sample 1.0) | $MED_LOG |"
    echo
    echo "Cost of metrics: **$COST %** of max throughput (goal ≤ 2 %); metrics and a full access log: **$COST_LOG %**."
    echo "A scrape during the run had $SERIES \`sluice_*\` samples and counted $SCRAPED requests; the access log held"
    echo "$LOGGED lines ($DROPPED dropped by a full ring). The access-log writer thread shares the proxy CPU here (the whole"
    echo "process is pinned to it); on a node it runs on a CPU without a shard."
    echo
    echo "Backend kill: $RATE req/s for ${KILL_SECONDS}s over three origins (round robin); one killed (SIGKILL) a third"
    echo "into the run. Outlier detection: 3 consecutive connect failures; active TCP checks every 1 s, 2 failures."
    echo
    echo "| requests | failed (non-2xx, socket errors, timeouts) | failed share | first ejection after kill | unhealthy (active checks) after kill | upstream connect errors | retries |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    echo "| ${REQ:-n/a} | $FAILED | $SHARE % | ${EJECTED_MS:-never} ms | ${UNHEALTHY_MS:-never} ms | $CONNERR | $RETRIES |"
    echo
    echo "Times come from the data plane's own timestamps of the ejection and of the health change"
    echo "(\`sluice_endpoint_last_ejection_timestamp_seconds\`, \`sluice_endpoint_health_changed_timestamp_seconds\`). Failed requests are those"
    echo "that met the dead origin before ejection and could not be retried (connect failures are retried on another"
    echo "endpoint within the retry budget; a request already sent when the origin died is not)."
    echo "<!-- ops-lab:end -->"
} >"$REPORT"
cat "$REPORT"
if [[ $WRITE == 1 ]]; then
    B=$SLUICE_HOME/BENCHMARKS.md
    if grep -q '<!-- ops-lab:begin -->' "$B"; then
        awk -v f="$REPORT" '/<!-- ops-lab:begin -->/ { while ((getline l < f) > 0) print l; skip = 1; next }
                            /<!-- ops-lab:end -->/ { skip = 0; next } !skip { print }' "$B" >"$B.tmp" && mv "$B.tmp" "$B"
    else
        { echo; cat "$REPORT"; } >>"$B"
    fi
    log "BENCHMARKS.md updated"
fi
