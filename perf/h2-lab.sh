#!/usr/bin/env bash
# Sluice HTTP/2 lab (issue 5): Sluice vs nginx, each proxy pinned to one CPU, h2load and the origins on another.
#   phase h2:   h2load, many streams per connection (-c 8 -m 32), small responses; proxies speak HTTP/1.1 upstream
#   phase grpc: gRPC unary calls, sent by h2load as POSTs of one length-prefixed gRPC message
#               (content-type application/grpc, te: trailers) to a gRPC origin over h2c: Sluice with a GRPC
#               backend, nginx with grpc_pass
# Several interleaved runs, medians, Sluice/nginx ratios computed within the same run.
#
# Run it as `bin/sluice perf h2 [options]`, or directly as perf/h2-lab.sh. Traffic stays on 127.0.0.1; every
# process it starts is stopped when it exits.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bin/sluice perf h2 [--quick] [--runs N] [--duration S] [options]

  --quick             smoke: 1 run of 3 s per proxy and phase; does not touch BENCHMARKS.md
  --runs N            interleaved runs per proxy and phase (default 5)
  --duration S        seconds per measured run (default 10)
  --clients N         h2load connections (default 8)
  --streams N         h2load max concurrent streams per connection (default 32)
  --phases LIST       h2,grpc (default both)
  --tls               HTTP/2 over TLS 1.3 (ALPN h2) on the client side, the comparison issue 5 asks for: nginx
                      gets `listen ... ssl http2`, Sluice a `tls: true` listener, both with a throw-away
                      certificate made here (SLUICE_H2_TLS_CONFIG: a Sluice config of your own instead)
  --proxy-cpu N       CPU for the proxies (default 0)
  --load-cpu N        CPU for h2load and the origins (default 1)
  --write / --no-write
                      write the results between <!-- h2-lab:begin --> and <!-- h2-lab:end --> in BENCHMARKS.md
                      (default: a full run writes, --quick does not)
  -h, --help          this text

Environment: SLUICE_HOME (repository root), SLUICE_H2_TLS_CONFIG (Sluice config for --tls).
Raw outputs are kept under perf/target/h2-lab/<date>/.
EOF
}

SLUICE_HOME=${SLUICE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export SLUICE_HOME
LAB=$SLUICE_HOME/perf/lab/h2
QUICK=0 RUNS="" DURATION="" CLIENTS=8 STREAMS=32 PHASES="h2,grpc" TLS=0 PROXY_CPU=0 LOAD_CPU=1 WRITE=""
ARGS_SHOWN="$*"
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) QUICK=1 ;;
        --runs) RUNS=${2:?}; shift ;;
        --duration) DURATION=${2:?}; shift ;;
        --clients) CLIENTS=${2:?}; shift ;;
        --streams) STREAMS=${2:?}; shift ;;
        --phases) PHASES=${2:?}; shift ;;
        --tls) TLS=1 ;;
        --proxy-cpu) PROXY_CPU=${2:?}; shift ;;
        --load-cpu) LOAD_CPU=${2:?}; shift ;;
        --write) WRITE=1 ;;
        --no-write) WRITE=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "h2-lab: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [[ $QUICK == 1 ]]; then
    RUNS=${RUNS:-1} DURATION=${DURATION:-3} WARMUP=1 WRITE=${WRITE:-0}
else
    RUNS=${RUNS:-5} DURATION=${DURATION:-10} WARMUP=3 WRITE=${WRITE:-1}
fi
for v in RUNS DURATION CLIENTS STREAMS PROXY_CPU LOAD_CPU; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "h2-lab: $v must be a whole number" >&2; exit 2; }
done

die() { echo "h2-lab: $*" >&2; exit 1; }
for tool in nginx h2load curl taskset setsid openssl; do
    command -v $tool >/dev/null 2>&1 || die "$tool is missing (apt-get install nginx nghttp2-client curl util-linux openssl)"
done

RESULTS=$SLUICE_HOME/perf/target/h2-lab/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
RUN_DIR=$(mktemp -d /tmp/sluice-h2-lab.XXXXXX)
chmod 755 "$RUN_DIR"
declare -A PGID=()

start_service() { # name cpu log cmd...
    local name=$1 cpu=$2 out=$3
    shift 3
    setsid taskset -c "$cpu" "$@" >"$out" 2>&1 </dev/null &
    PGID[$name]=$!
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
    for name in "${!PGID[@]}"; do
        stop_service "$name"
    done
    rm -rf "$RUN_DIR"
    exit $rc
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------------------------------------- set-up

mkdir -p "$RUN_DIR"/origin/tmp "$RUN_DIR"/nginx/tmp
# The gRPC reply: flag 0, length 5, "hello" (a valid length-prefixed message of 5 bytes).
printf '\x00\x00\x00\x00\x05hello' >"$RUN_DIR/origin/grpc-reply.bin"
# The gRPC request body h2load sends: one length-prefixed 5-byte message.
printf '\x00\x00\x00\x00\x05hello' >"$RUN_DIR/grpc-request.bin"
sed "s|RUN_DIR|$RUN_DIR|g" "$LAB/origin.conf" >"$RUN_DIR/origin.conf"

SCHEME=http
if [[ $TLS == 1 ]]; then
    SCHEME=https
    CERTS=$RUN_DIR/certs
    mkdir -p "$CERTS"
    # A throw-away self-signed certificate for 127.0.0.1 and the lab's host names (issue 4 will bring a test
    # certificate generator of its own; this keeps the lab independent of it).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=lab.sluice" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:grpc.lab,DNS:lab.sluice" \
        -keyout "$CERTS/key.pem" -out "$CERTS/cert.pem" >/dev/null 2>&1 || die "openssl failed"
    LISTEN_OPTS="ssl http2"
    TLS_LINES="ssl_certificate $CERTS/cert.pem; ssl_certificate_key $CERTS/key.pem; ssl_protocols TLSv1.3;"
    SLUICE_CONFIG=${SLUICE_H2_TLS_CONFIG:-$RUN_DIR/sluice-tls.yaml}
    if [[ -z ${SLUICE_H2_TLS_CONFIG:-} ]]; then
        # the h2c config with its listener made a TLS one, and the lab certificate as the default certificate
        sed -e 's|^    address: 127.0.0.1|    address: 127.0.0.1\n    tls: true|' "$LAB/sluice.yaml" >"$SLUICE_CONFIG"
        printf 'tls:\n  protocols: [TLSv1.3]\n  certificates:\n    - {name: lab, certFile: %s, keyFile: %s}\n' \
            "$CERTS/cert.pem" "$CERTS/key.pem" >>"$SLUICE_CONFIG"
    fi
else
    LISTEN_OPTS="http2"
    TLS_LINES=""
    SLUICE_CONFIG=$LAB/sluice.yaml
fi
sed -e "s|LISTEN_OPTS|$LISTEN_OPTS|g" -e "s|TLS_LINES|$TLS_LINES|g" "$LAB/nginx-proxy.conf" >"$RUN_DIR/nginx-proxy.conf"

declare -A H2PORT=([sluice]=22080 [nginx]=22082)
declare -A GRPCPORT=([sluice]=22080 [nginx]=22084)

start_service origin "$LOAD_CPU" "$RESULTS/origin.log" nginx -p "$RUN_DIR/origin/" -c "$RUN_DIR/origin.conf" -e "$RUN_DIR/origin/error.log"
start_service nginx "$PROXY_CPU" "$RESULTS/nginx.log" nginx -p "$RUN_DIR/nginx/" -c "$RUN_DIR/nginx-proxy.conf" -e "$RUN_DIR/nginx/error.log"
start_service sluice "$PROXY_CPU" "$RESULTS/sluice.log" "$SLUICE_HOME/bin/sluice" dataplane --config "$SLUICE_CONFIG" --cpus "$PROXY_CPU"

CURL_H2=(--http2-prior-knowledge)
[[ $TLS == 1 ]] && CURL_H2=(--http2 -k)
wait_for() { # url [curl args]
    local url=$1
    shift
    for _ in $(seq 600); do
        if curl -sf -o /dev/null "$@" "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}
wait_for "http://127.0.0.1:22081/" || die "origin did not start (see $RESULTS/origin.log)"
for p in nginx sluice; do
    wait_for "$SCHEME://127.0.0.1:${H2PORT[$p]}/" "${CURL_H2[@]}" || die "$p did not answer over HTTP/2 (see $RESULTS/$p.log)"
done

# ---------------------------------------------------------------------------------------------- runs

h2load_run() { # proxy phase seconds out
    local p=$1 phase=$2 secs=$3 out=$4
    local args=(-c "$CLIENTS" -m "$STREAMS" -t 1 -D "$secs")
    if [[ $phase == grpc ]]; then
        args+=(-d "$RUN_DIR/grpc-request.bin" -H "content-type: application/grpc" -H "te: trailers"
               -H ":authority: grpc.lab" "$SCHEME://127.0.0.1:${GRPCPORT[$p]}/lab.Echo/Unary")
    else
        args+=("$SCHEME://127.0.0.1:${H2PORT[$p]}/")
    fi
    taskset -c "$LOAD_CPU" h2load "${args[@]}" >"$out" 2>&1 || true
}

# "finished in 10.00s, 123456.70 req/s, ..." and "requests: N total, N started, N done, N succeeded, ..."
parse_rps() { sed -n 's/^finished in [0-9.]*s, \([0-9.]*\) req\/s.*/\1/p' "$1" | head -1; }
parse_failed() { sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored.*/\1+\2/p' "$1" | head -1; }

TSV=$RESULTS/results.tsv
: >"$TSV"
IFS=, read -ra PHASE_LIST <<<"$PHASES"
for phase in "${PHASE_LIST[@]}"; do
    for p in nginx sluice; do
        h2load_run "$p" "$phase" "$WARMUP" "$RESULTS/warmup-$phase-$p.txt"
    done
done
for r in $(seq "$RUNS"); do
    for phase in "${PHASE_LIST[@]}"; do
        for p in nginx sluice; do
            out=$RESULTS/run$r-$phase-$p.txt
            h2load_run "$p" "$phase" "$DURATION" "$out"
            rps=$(parse_rps "$out")
            failed=$(parse_failed "$out")
            printf '%s\t%s\t%s\t%s\t%s\n' "$phase" "$p" "$r" "${rps:-0}" "${failed:-?}" >>"$TSV"
            echo "h2-lab: run $r $phase $p: ${rps:-?} req/s (failed+errored: ${failed:-?})"
        done
    done
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

REPORT=$RESULTS/report.md
{
    echo "<!-- Generated by perf/h2-lab.sh; edits here are overwritten. -->"
    echo "Run $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)):"
    echo "proxies on CPU $PROXY_CPU, h2load and origins on CPU $LOAD_CPU; $RUNS interleaved runs of ${DURATION}s per proxy and"
    echo "phase, h2load -c $CLIENTS -m $STREAMS, client side $([[ $TLS == 1 ]] && echo 'h2 over TLS 1.3' || echo 'h2c (prior knowledge)');"
    echo "\`bin/sluice perf h2 $ARGS_SHOWN\`. nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), h2load $(h2load --version | sed -n 's/.*nghttp2\///p')."
    echo
    echo "| phase | nginx req/s (median) | Sluice req/s (median) | Sluice / nginx (median of per-run ratios) | goal | failed (nginx / Sluice) |"
    echo "| --- | ---: | ---: | ---: | ---: | --- |"
    for phase in "${PHASE_LIST[@]}"; do
        n=$(awk -F'\t' -v ph="$phase" '$1==ph && $2=="nginx" {print $4}' "$TSV" | median)
        s=$(awk -F'\t' -v ph="$phase" '$1==ph && $2=="sluice" {print $4}' "$TSV" | median)
        ratio=$(awk -F'\t' -v ph="$phase" '$1==ph {v[$2","$3]=$4} END {for (k in v) {split(k,a,","); if (a[1]=="sluice" && v["nginx,"a[2]]>0) print v[k]/v["nginx,"a[2]]}}' "$TSV" | median)
        fn=$(awk -F'\t' -v ph="$phase" '$1==ph && $2=="nginx" {print $5}' "$TSV" | paste -sd' ')
        fs=$(awk -F'\t' -v ph="$phase" '$1==ph && $2=="sluice" {print $5}' "$TSV" | paste -sd' ')
        goal=$([[ $phase == h2 ]] && echo "≥ 1.5" || echo "≥ 1.3")
        label=$([[ $phase == h2 ]] && echo "h2load, small responses, HTTP/1.1 upstream" || echo "gRPC unary (h2load POST), gRPC upstream")
        printf '| %s | %.0f | %.0f | %.2f | %s | %s / %s |\n' "$label" "$n" "$s" "$ratio" "$goal" "$fn" "$fs"
    done
    echo
    echo "Raw h2load outputs: perf/target/h2-lab/$(basename "$RESULTS")/."
} >"$REPORT"
cat "$REPORT"

if [[ $WRITE == 1 ]]; then
    B=$SLUICE_HOME/BENCHMARKS.md
    if ! grep -q '<!-- h2-lab:begin -->' "$B"; then
        printf '\n## HTTP/2 and gRPC (issue 5)\n\n<!-- h2-lab:begin -->\n<!-- h2-lab:end -->\n' >>"$B"
    fi
    awk -v report="$REPORT" '
        /<!-- h2-lab:begin -->/ {print; while ((getline line < report) > 0) print line; skip=1; next}
        /<!-- h2-lab:end -->/ {skip=0}
        !skip {print}' "$B" >"$B.tmp" && mv "$B.tmp" "$B"
    echo "h2-lab: BENCHMARKS.md updated"
fi
