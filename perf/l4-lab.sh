#!/usr/bin/env bash
# Sluice L4 lab: Sluice vs HAProxy (mode tcp) vs nginx (stream), each proxy pinned to one CPU, the load and the
# origins on another. TCP bulk throughput (iperf3, Gbit/s), new TCP connections per second (connect, send 64 B,
# read them back, close), UDP request/response datagrams per second (HAProxy has no UDP: Sluice vs nginx).
# Several interleaved runs, medians, ratios to HAProxy (TCP) and to nginx stream (UDP) from the same run.
#
# Run it as `bin/sluice perf l4 [options]`, or directly as perf/l4-lab.sh. See perf/README.md.
# Traffic goes to 127.0.0.1 only; every process it starts is stopped when it exits, however it exits.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bin/sluice perf l4 [--quick] [--runs N] [--duration S] [options]

  --quick             smoke test: 1 run of 2 s per proxy and test; never touches BENCHMARKS.md unless --write
  --runs N            interleaved runs per proxy and test (default 5)
  --duration S        seconds per measured run (default 10)
  --concurrency N     connections under way in the connection-rate test, client sockets in the UDP test (default 64)
  --proxies LIST      comma-separated subset of sluice,haproxy,nginx (default: all three)
  --tests LIST        comma-separated subset of bulk,conn,udp (default: all three)
  --proxy-cpu N       CPU for the proxies (default 0)
  --load-cpu N        CPU for the load generators and the origins (default 1)
  --base-port N       first of the 20 ports the lab uses on 127.0.0.1 (default 18100)
  --splice on|off     Sluice's TCP forwarding: splice (default) or pooled buffers
  --write / --no-write
                      write the results between <!-- l4-lab:begin --> and <!-- l4-lab:end --> in BENCHMARKS.md
                      (default: a full run writes, --quick does not)
  --no-install        do not apt-get install missing tools
  -h, --help          this text

Environment: SLUICE_HOME (repository root), SLUICE_JAVA (a JDK 25 java).
Raw outputs are kept under perf/target/l4-lab/<date>/.
EOF
}

SLUICE_HOME=${SLUICE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export SLUICE_HOME
JAR=$SLUICE_HOME/perf/target/benchmarks.jar
QUICK=0 RUNS="" DURATION="" CONC=64 PROXIES="sluice,haproxy,nginx" TESTS="bulk,conn,udp"
PROXY_CPU=0 LOAD_CPU=1 BASE=18100 WRITE="" INSTALL=1 SPLICE=true
ARGS_SHOWN="$*"
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) QUICK=1 ;;
        --runs) RUNS=${2:?}; shift ;;
        --duration) DURATION=${2:?}; shift ;;
        --concurrency) CONC=${2:?}; shift ;;
        --proxies) PROXIES=${2:?}; shift ;;
        --tests) TESTS=${2:?}; shift ;;
        --proxy-cpu) PROXY_CPU=${2:?}; shift ;;
        --load-cpu) LOAD_CPU=${2:?}; shift ;;
        --base-port) BASE=${2:?}; shift ;;
        --splice) case ${2:?} in on) SPLICE=true ;; off) SPLICE=false ;; *) echo "l4-lab: --splice on|off" >&2; exit 2 ;; esac; shift ;;
        --write) WRITE=1 ;;
        --no-write) WRITE=0 ;;
        --no-install) INSTALL=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "l4-lab: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [[ $QUICK == 1 ]]; then
    RUNS=${RUNS:-1} DURATION=${DURATION:-2} WRITE=${WRITE:-0}
else
    RUNS=${RUNS:-5} DURATION=${DURATION:-10} WRITE=${WRITE:-1}
fi
for v in RUNS DURATION CONC PROXY_CPU LOAD_CPU BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "l4-lab: $v must be a whole number, got '${!v}'" >&2; exit 2; }
done

log() { printf '%s l4-lab: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 1; }

# Ports: origins, then three per proxy (bulk, conn, udp).
IPERF_PORT=$BASE ECHO_PORT=$((BASE + 1)) UDP_ECHO_PORT=$((BASE + 2)) SLUICE_HTTP=$((BASE + 3))
declare -A BULK=([sluice]=$((BASE + 10)) [haproxy]=$((BASE + 13)) [nginx]=$((BASE + 16)))
declare -A CONN=([sluice]=$((BASE + 11)) [haproxy]=$((BASE + 14)) [nginx]=$((BASE + 17)))
declare -A UDP=([sluice]=$((BASE + 12)) [nginx]=$((BASE + 18)))

# ---------------------------------------------------------------------------------------------- tools

NGINX_STREAM=/usr/lib/nginx/modules/ngx_stream_module.so
missing=()
for t in iperf3 haproxy nginx taskset setsid; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[[ -f $NGINX_STREAM ]] || missing+=(libnginx-mod-stream)
if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $INSTALL == 1 ]] || die "missing: ${missing[*]} (install them or drop --no-install)"
    pkgs=()
    for t in "${missing[@]}"; do
        case $t in taskset|setsid) pkgs+=(util-linux) ;; *) pkgs+=("$t") ;; esac
    done
    log "installing ${pkgs[*]}"
    SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null \
        || die "apt-get install ${pkgs[*]} failed"
    $SUDO systemctl stop nginx haproxy >/dev/null 2>&1 || true
fi

find_java() {
    local j
    for j in "${SLUICE_JAVA:-}" "${JAVA_HOME:+$JAVA_HOME/bin/java}" /usr/lib/jvm/temurin-25*/bin/java /usr/lib/jvm/*25*/bin/java java; do
        [[ -n $j ]] && command -v "$j" >/dev/null 2>&1 || continue
        if "$j" -version 2>&1 | head -1 | grep -Eq '"25([."]|$)'; then command -v "$j"; return 0; fi
    done
    return 1
}
JAVA=$(find_java) || die "no JDK 25 found: set SLUICE_JAVA to a JDK 25 java"
export SLUICE_JAVA=$JAVA
[[ -f $JAR ]] || die "$JAR is missing: build first (bin/sluice perf l4 builds it)"
JAVA_FLAGS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:+UseSerialGC -Xms256m
            -Xmx256m -Dio.netty.leakDetection.level=disabled)
NCPU=$(nproc)
[[ $PROXY_CPU -lt $NCPU && $LOAD_CPU -lt $NCPU ]] || die "CPUs $PROXY_CPU/$LOAD_CPU: this machine has $NCPU"
[[ $PROXY_CPU != "$LOAD_CPU" ]] || log "warning: proxy and load share CPU $PROXY_CPU; figures will mean little"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

RESULTS=$SLUICE_HOME/perf/target/l4-lab/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
TSV=$RESULTS/results.tsv
: >"$TSV"
RUN_DIR=$(mktemp -d /tmp/sluice-l4-lab.XXXXXX)
chmod 755 "$RUN_DIR"

# ---------------------------------------------------------------------------------------------- processes

declare -A PGID=()
STARTED=()
start_service() { # name cpu log cmd...
    local name=$1 cpu=$2 out=$3
    shift 3
    setsid taskset -c "$cpu" "$@" >"$out" 2>&1 </dev/null &
    PGID[$name]=$!
    STARTED+=("$name")
}
stop_service() {
    local g=${PGID[$1]:-}
    [[ -n $g ]] || return 0
    kill -TERM -- "-$g" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 -- "-$g" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$g" 2>/dev/null || true
    wait "$g" 2>/dev/null || true
    unset "PGID[$1]"
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for name in "${STARTED[@]}"; do
        stop_service "$name"
    done
    rm -rf "$RUN_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port seconds
    local until=$((SECONDS + $2))
    while ! port_open "$1"; do
        [[ $SECONDS -lt $until ]] || return 1
        sleep 0.2
    done
}
for p in $IPERF_PORT $ECHO_PORT $SLUICE_HTTP "${BULK[@]}" "${CONN[@]}"; do
    ! port_open "$p" || die "port $p is in use: pick another --base-port"
done

# ---------------------------------------------------------------------------------------------- configs

HARD=$(ulimit -Hn); [[ $HARD =~ ^[0-9]+$ ]] || HARD=65536
MAXCONN=$(( HARD / 2 - 100 < 100000 ? HARD / 2 - 100 : 100000 )) # two descriptors per proxied connection
cat >"$RUN_DIR/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $MAXCONN
defaults
    mode tcp
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend bulk
    bind 127.0.0.1:${BULK[haproxy]} backlog 8192
    default_backend bulk
backend bulk
    server s 127.0.0.1:$IPERF_PORT
frontend conn
    bind 127.0.0.1:${CONN[haproxy]} backlog 8192
    default_backend conn
backend conn
    server s 127.0.0.1:$ECHO_PORT
EOF
mkdir -p "$RUN_DIR/nginx"
cat >"$RUN_DIR/nginx/nginx.conf" <<EOF
load_module $NGINX_STREAM;
worker_processes 1;
worker_rlimit_nofile $HARD;
daemon off;
pid nginx.pid;
error_log error.log warn;
events {
    worker_connections $MAXCONN;
}
stream {
    server {
        listen 127.0.0.1:${BULK[nginx]} backlog=8192;
        proxy_pass 127.0.0.1:$IPERF_PORT;
    }
    server {
        listen 127.0.0.1:${CONN[nginx]} backlog=8192;
        proxy_pass 127.0.0.1:$ECHO_PORT;
    }
    server {
        listen 127.0.0.1:${UDP[nginx]} udp;
        proxy_pass 127.0.0.1:$UDP_ECHO_PORT;
        proxy_responses 1;
        proxy_timeout 10s;
    }
}
EOF
cat >"$RUN_DIR/sluice.yaml" <<EOF
listeners: [{port: $SLUICE_HTTP, address: 127.0.0.1}]
l4:
  splice: $SPLICE
  services:
    - {name: bulk, protocol: TCP, port: ${BULK[sluice]}, endpoints: ["127.0.0.1:$IPERF_PORT"]}
    - {name: conn, protocol: TCP, port: ${CONN[sluice]}, endpoints: ["127.0.0.1:$ECHO_PORT"]}
    - {name: udp, protocol: UDP, port: ${UDP[sluice]}, endpoints: ["127.0.0.1:$UDP_ECHO_PORT"]}
EOF

# ---------------------------------------------------------------------------------------------- start

L4LOAD=("$JAVA" "${JAVA_FLAGS[@]}" -cp "$JAR" io.sluice.perf.loadgen.L4Load)
start_service iperf3 "$LOAD_CPU" "$RESULTS/iperf3-server.log" iperf3 -s -p "$IPERF_PORT"
start_service echo "$LOAD_CPU" "$RESULTS/echo.log" "${L4LOAD[@]}" echo-server --port "$ECHO_PORT"
start_service udpecho "$LOAD_CPU" "$RESULTS/udpecho.log" "${L4LOAD[@]}" echo-server --udp --port "$UDP_ECHO_PORT"
wait_port "$IPERF_PORT" 30 || die "iperf3 server did not start"
wait_port "$ECHO_PORT" 60 || die "echo origin did not start: $(tail -3 "$RESULTS/echo.log")"

IFS=, read -r -a PROXY_LIST <<<"$PROXIES"
IFS=, read -r -a TEST_LIST <<<"$TESTS"
for p in "${PROXY_LIST[@]}"; do
    case $p in
        sluice) start_service sluice "$PROXY_CPU" "$RESULTS/sluice.log" "$SLUICE_HOME/bin/sluice" dataplane \
                    --config "$RUN_DIR/sluice.yaml" --cpus "$PROXY_CPU" --coremap none ;;
        haproxy) start_service haproxy "$PROXY_CPU" "$RESULTS/haproxy.log" haproxy -db -f "$RUN_DIR/haproxy.cfg" ;;
        nginx) start_service nginx "$PROXY_CPU" "$RESULTS/nginx.log" nginx -p "$RUN_DIR/nginx/" -c nginx.conf ;;
        *) die "unknown proxy $p" ;;
    esac
    wait_port "${CONN[$p]}" 120 || die "$p did not start: $(tail -5 "$RESULTS/$p.log")"
    log "$p ready"
done
sleep 1

# ---------------------------------------------------------------------------------------------- measure

measure() { # test proxy run → appends "test proxy run value errors" to the TSV
    local t=$1 p=$2 r=$3 out="$RESULTS/$1-$2-$3.txt" v="" e=0
    case $t in
        bulk)
            taskset -c "$LOAD_CPU" iperf3 -c 127.0.0.1 -p "${BULK[$p]}" -t "$DURATION" -f g >"$out" 2>&1 || true
            v=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Gbits/sec") print $(i-1) }' "$out" | tail -1) ;;
        conn)
            taskset -c "$LOAD_CPU" "${L4LOAD[@]}" connect-rate --port "${CONN[$p]}" --concurrency "$CONC" \
                --duration "$DURATION" >"$out" 2>&1 || true
            v=$(sed -n 's/^result connections_per_s=\([0-9.]*\).*/\1/p' "$out")
            e=$(sed -n 's/^result .* errors=\([0-9]*\).*/\1/p' "$out") ;;
        udp)
            [[ -n ${UDP[$p]:-} ]] || return 0
            taskset -c "$LOAD_CPU" "${L4LOAD[@]}" udp-rate --port "${UDP[$p]}" --flows "$CONC" \
                --duration "$DURATION" >"$out" 2>&1 || true
            v=$(sed -n 's/^result datagrams_per_s=\([0-9.]*\).*/\1/p' "$out")
            e=$(sed -n 's/^result .* errors=\([0-9]*\).*/\1/p' "$out") ;;
    esac
    [[ -n $v ]] || { log "$t/$p run $r: no result (see $out)"; v=NA; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$p" "$r" "$v" "${e:-0}" >>"$TSV"
    log "$t $p run $r: $v ${e:+(errors/lost $e)}"
}
for r in $(seq "$RUNS"); do
    for t in "${TEST_LIST[@]}"; do
        for p in "${PROXY_LIST[@]}"; do
            measure "$t" "$p" "$r"
        done
    done
done

# ---------------------------------------------------------------------------------------------- report

median() { # test proxy
    awk -F'\t' -v t="$1" -v p="$2" '$1 == t && $2 == p && $4 != "NA" { print $4 }' "$TSV" | sort -g \
        | awk '{ a[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) print a[(NR + 1) / 2];
                else printf "%.4g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "–"; else printf "%.2f×\n", a / b }'; }
fmt() { awk -v v="$1" -v d="$2" 'BEGIN { if (v == "NA") print "–"; else printf "%." d "f\n", v }'; }

REPORT=$RESULTS/report.md
{
    echo "Run $(date -u +%Y-%m-%d) on $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); proxy on CPU $PROXY_CPU, load and origins on CPU $LOAD_CPU; $RUNS run(s) of ${DURATION} s, medians; Sluice splice=$SPLICE; $(haproxy -v 2>/dev/null | head -1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | cut -d' ' -f3); $(iperf3 --version 2>/dev/null | head -1 | cut -d' ' -f1-2). Arguments: \`${ARGS_SHOWN:-none}\`."
    echo
    echo "| test | unit | Sluice | HAProxy (mode tcp) | nginx (stream) | Sluice ÷ reference | goal |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | --- |"
    for t in "${TEST_LIST[@]}"; do
        s=$(median "$t" sluice) h=$(median "$t" haproxy) n=$(median "$t" nginx)
        case $t in
            bulk) echo "| TCP bulk (iperf3, 1 stream) | Gbit/s | $(fmt "$s" 2) | $(fmt "$h" 2) | $(fmt "$n" 2) | $(ratio "$s" "$h") vs HAProxy | ≥ 1.0× HAProxy |" ;;
            conn) echo "| new TCP connections ($CONC under way, 64 B echo each) | conn/s | $(fmt "$s" 0) | $(fmt "$h" 0) | $(fmt "$n" 0) | $(ratio "$s" "$h") vs HAProxy | ≥ 1.2× HAProxy |" ;;
            udp) echo "| UDP request/response ($CONC client sockets, 64 B) | datagrams/s | $(fmt "$s" 0) | (no UDP) | $(fmt "$n" 0) | $(ratio "$s" "$n") vs nginx | ≥ 1.2× nginx stream |" ;;
        esac
    done
    echo
    echo "Every run: $(awk -F'\t' '{ printf "%s%s/%s #%s = %s", (NR > 1 ? "; " : ""), $1, $2, $3, $4 }' "$TSV")."
} >"$REPORT"
cat "$REPORT"

if [[ $WRITE == 1 ]]; then
    B=$SLUICE_HOME/BENCHMARKS.md
    if grep -q '<!-- l4-lab:begin -->' "$B" && grep -q '<!-- l4-lab:end -->' "$B"; then
        awk -v rep="$REPORT" '
            /<!-- l4-lab:begin -->/ { print; while ((getline line < rep) > 0) print line; skip = 1; next }
            /<!-- l4-lab:end -->/ { skip = 0 }
            !skip { print }' "$B" >"$B.tmp" && mv "$B.tmp" "$B"
        log "BENCHMARKS.md: L4 section updated"
    else
        log "BENCHMARKS.md has no <!-- l4-lab:begin --> / <!-- l4-lab:end --> markers; nothing written"
    fi
fi
log "results in $RESULTS"
