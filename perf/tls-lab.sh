#!/usr/bin/env bash
# Sluice TLS lab (issue 4): TLS termination in Sluice next to nginx on the same certificates, each proxy pinned
# to one CPU, the load generator and the origin on another. Full handshakes/s with ECDSA P-256 and with
# RSA-2048, resumed handshakes/s, HTTPS keep-alive req/s; interleaved runs, medians, ratios to nginx, and the
# server's CPU time per run, so that a client-bound run is still a fair comparison (handshakes per
# proxy-CPU-second).
#
# Run it as `bin/sluice perf tls [options]`, or directly as perf/tls-lab.sh. See perf/README.md ("TLS lab").
# Traffic goes to 127.0.0.1 only; every process it starts is stopped when it exits, however it exits.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bin/sluice perf tls [--quick] [--runs N] [--duration S] [options]

  --quick             smoke test: 1 run of 3 s per proxy and phase, short warm-ups (a few minutes in all);
                      does not touch BENCHMARKS.md unless --write is given
  --runs N            interleaved runs per proxy and phase (default 5)
  --duration S        seconds per measured run (default 10)
  --connections N     concurrent connection slots of the handshake client (default 32)
  --ka-connections N  keep-alive connections of wrk in the keep-alive phase (default 64)
  --phases LIST       comma-separated subset of full-ecdsa,full-rsa,resumed,keepalive (default: all)
  --proxies LIST      comma-separated subset of nginx,sluice (default: both)
  --tls12             handshake phases with TLS 1.2 instead of TLS 1.3
  --warmup S          seconds of unrecorded load per proxy before each phase (default 10; --quick: 1), for
                      Sluice's JIT on the phase's path; each handshake run also starts with 2 s unrecorded
  --proxy-cpu N       CPU for the proxies (default 0)
  --load-cpu N        CPU for the load generator and the origin (default 1)
  --write / --no-write
                      regenerate the TLS section of BENCHMARKS.md; by default a full run does so unless
                      other processes disturbed it (>25% of a CPU), and --quick never does
  --no-install        do not apt-get install missing tools
  -h, --help          this text

Environment: SLUICE_HOME (repository root; default: this script's parent), SLUICE_JAVA (a JDK 25 java),
SLUICE_LAB_START_TIMEOUT (seconds to wait for each proxy to answer; default 120).
Ports (fixed): origin 23501; nginx 23643 (ECDSA), 23644 (RSA); Sluice TLS 23543 (ECDSA), 23544 (RSA),
plain 23580, 23581. Raw outputs and logs are kept under perf/target/tls-lab/<date>/.
EOF
}

# ---------------------------------------------------------------------------------------------- options

SLUICE_HOME=${SLUICE_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export SLUICE_HOME
LAB_DIR=$SLUICE_HOME/perf/lab
JAR=$SLUICE_HOME/perf/target/benchmarks.jar
ORIGIN_PORT=23501
# One proxy instance per certificate type: each full-handshake phase then measures one kind of signature,
# whatever the client offers (with both certificates for one name, a server picks by the client's
# signature algorithms, and every TLS 1.3 client offers both).
declare -A PORT=([nginx-ecdsa]=23643 [nginx-rsa]=23644 [sluice-ecdsa]=23543 [sluice-rsa]=23544)
declare -A PLAIN_PORT=([sluice-ecdsa]=23580 [sluice-rsa]=23581)
ALL_PHASES="full-ecdsa,full-rsa,resumed,keepalive"

QUICK=0 RUNS="" DURATION="" WARMUP="" CONNECTIONS=32 KA_CONNECTIONS=64 PHASES=$ALL_PHASES PROXIES="nginx,sluice"
TLS12=0 PROXY_CPU=0 LOAD_CPU=1 WRITE="" INSTALL=1
ARGS_SHOWN="$*"
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) QUICK=1 ;;
        --runs) RUNS=${2:?--runs needs a value}; shift ;;
        --duration) DURATION=${2:?--duration needs a value}; shift ;;
        --connections) CONNECTIONS=${2:?--connections needs a value}; shift ;;
        --ka-connections) KA_CONNECTIONS=${2:?--ka-connections needs a value}; shift ;;
        --phases) PHASES=${2:?--phases needs a value}; shift ;;
        --proxies) PROXIES=${2:?--proxies needs a value}; shift ;;
        --tls12) TLS12=1 ;;
        --warmup) WARMUP=${2:?--warmup needs a value}; shift ;;
        --proxy-cpu) PROXY_CPU=${2:?--proxy-cpu needs a value}; shift ;;
        --load-cpu) LOAD_CPU=${2:?--load-cpu needs a value}; shift ;;
        --write) WRITE=1 ;;
        --no-write) WRITE=0 ;;
        --no-install) INSTALL=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "tls-lab: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

if [[ $QUICK == 1 ]]; then
    RUNS=${RUNS:-1} DURATION=${DURATION:-3} WARMUP=${WARMUP:-1} CLIENT_WARMUP=1 WRITE=${WRITE:-0}
else
    RUNS=${RUNS:-5} DURATION=${DURATION:-10} WARMUP=${WARMUP:-10} CLIENT_WARMUP=2 WRITE=${WRITE:-auto}
fi
for v in RUNS DURATION WARMUP CONNECTIONS KA_CONNECTIONS PROXY_CPU LOAD_CPU; do
    [[ ${!v} =~ ^[0-9]+$ ]] || { echo "tls-lab: $v must be a whole number, got '${!v}'" >&2; exit 2; }
done
[[ $RUNS -ge 1 && $DURATION -ge 1 && $CONNECTIONS -ge 1 && $KA_CONNECTIONS -ge 1 ]] \
    || { echo "tls-lab: runs, duration, connections must be >= 1" >&2; exit 2; }
IFS=, read -r -a SELECTED_PHASES <<<"$PHASES"
for ph in "${SELECTED_PHASES[@]}"; do
    [[ ,$ALL_PHASES, == *",$ph,"* ]] || { echo "tls-lab: unknown phase '$ph' ($ALL_PHASES)" >&2; exit 2; }
done
IFS=, read -r -a SELECTED <<<"$PROXIES"
for p in "${SELECTED[@]}"; do
    [[ $p == nginx || $p == sluice ]] || { echo "tls-lab: unknown proxy '$p' (nginx, sluice)" >&2; exit 2; }
done
START_TIMEOUT=${SLUICE_LAB_START_TIMEOUT:-120}
PROTOCOL=TLSv1.3
[[ $TLS12 == 1 ]] && PROTOCOL=TLSv1.2

log() { printf '[tls-lab %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[tls-lab] error: %s\n' "$*" >&2; exit 1; }

# Which key type each phase's certificate has, and which instances therefore serve it.
phase_key() { case $1 in full-rsa) echo rsa ;; *) echo ecdsa ;; esac; }

# ---------------------------------------------------------------------------------------------- machine

NCPU=$(nproc --all 2>/dev/null || getconf _NPROCESSORS_ONLN)
for c in "$PROXY_CPU" "$LOAD_CPU"; do
    [[ $c -lt $NCPU ]] || die "CPU $c does not exist here (CPUs 0..$((NCPU - 1))); use --proxy-cpu/--load-cpu"
done
[[ $PROXY_CPU != "$LOAD_CPU" ]] || die "the proxy and the load generator need different CPUs"

export PATH=$PATH:/usr/sbin:/sbin
need_install=()
for tool in nginx wrk curl openssl taskset setsid pgrep; do
    command -v "$tool" >/dev/null 2>&1 || need_install+=("$tool")
done
if [[ ${#need_install[@]} -gt 0 ]]; then
    [[ $INSTALL == 1 ]] || die "missing: ${need_install[*]} (and --no-install was given)"
    [[ $(id -u) == 0 ]] || die "missing: ${need_install[*]}; install them (apt-get install nginx wrk curl openssl util-linux procps) or run as root"
    pkgs=()
    for t in "${need_install[@]}"; do
        case $t in taskset|setsid) pkgs+=(util-linux) ;; pgrep) pkgs+=(procps) ;; *) pkgs+=("$t") ;; esac
    done
    log "installing ${pkgs[*]} (apt-get)"
    # Debian starts the packaged nginx service on install; the lab runs its own instances, so keep the
    # packaged one from starting, through the standard policy-rc.d hook (only if none is in place).
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

# perf/target/benchmarks.jar holds the handshake client and the report; build it when missing or stale.
if [[ ! -f $JAR ]] || [[ -n $(find "$SLUICE_HOME/perf/src/main" "$SLUICE_HOME/perf/pom.xml" -newer "$JAR" -print -quit 2>/dev/null) ]]; then
    log "building perf/target/benchmarks.jar"
    if ! (cd "$SLUICE_HOME" && mvn -B -q -pl perf -am package -DskipTests); then
        [[ -f $JAR ]] || die "could not build perf/target/benchmarks.jar"
        log "build failed; using the existing, older perf/target/benchmarks.jar"
    fi
fi
# The handshake client's JVM: C1 only, as for the load lab's rate generator. Each run is a fresh JVM of a
# dozen seconds whose hot work is BoringSSL's native code; with C2, compiling took ~40% of the client's CPU
# during the measured window (perf, 2026-11-22), and the client's CPU per handshake was 2.4 x C1's.
JAVA_FLAGS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:TieredStopAtLevel=1
            -XX:+UseSerialGC -Xms256m -Xmx256m -XX:+AlwaysPreTouch -Dio.netty.leakDetection.level=disabled)

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

STAMP=$(date -u +%Y%m%d-%H%M%S)
RESULTS=$SLUICE_HOME/perf/target/tls-lab/$STAMP
mkdir -p "$RESULTS"
TSV=$RESULTS/results.tsv
: >"$TSV"
RUN_DIR=$(mktemp -d /tmp/sluice-tls-lab.XXXXXX)
chmod 755 "$RUN_DIR" # nginx workers drop root and must reach their temp dirs and certificates below it

# ---------------------------------------------------------------------------------------------- processes

# start_service / stop_service / alive / cleanup traps / port_in_use: shared with the other labs.
# shellcheck source=lab/services.sh
source "$SLUICE_HOME/perf/lab/services.sh"

# Waits until the service answers 200 with the origin's body over HTTPS, with SNI bench.local.
wait_ready() { # name port timeout scheme
    local name=$1 port=$2 deadline=$((SECONDS + $3)) scheme=${4:-https} body
    while ((SECONDS < deadline)); do
        alive "$name" || return 1
        body=$(curl -sk -m 2 --resolve "bench.local:$port:127.0.0.1" "$scheme://bench.local:$port/" 2>/dev/null || true)
        [[ $body == "hello, world" ]] && return 0
        sleep 0.2
    done
    return 2
}

# The key type of the certificate a server presents for SNI bench.local: EC or RSA.
served_key() { # port
    openssl s_client -connect "127.0.0.1:$1" -servername bench.local </dev/null 2>/dev/null \
        | openssl x509 -noout -text 2>/dev/null \
        | awk '/Public Key Algorithm/ { if ($0 ~ /rsaEncryption/) print "RSA"; else if ($0 ~ /ecPublicKey/) print "EC"; exit }'
}

log_summary() {
    local clean
    clean=$(sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/\t/ /g' "$1" 2>/dev/null | grep -v '^[[:space:]]*$' || true)
    { grep -i -m 1 -E 'error|exception|fatal|alert|emerg' <<<"$clean" || tail -n 1 <<<"$clean"; } | cut -c1-240
}

# Writes a copy of a template with @KEY@ placeholders replaced: fill TEMPLATE OUT KEY=VALUE...
fill() {
    local template=$1 out=$2 expr=() kv
    shift 2
    for kv in "$@"; do
        expr+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
    done
    sed "${expr[@]}" "$template" >"$out"
}

STATUS_REASON=""
start_proxy() { # instance (nginx-ecdsa, sluice-rsa, ...)
    local inst=$1 port=${PORT[$1]} out=$RESULTS/$1.log key=${1#*-} dir=$RUN_DIR/$1
    if port_in_use "$port"; then
        STATUS_REASON="port $port already in use by another process"
        return 1
    fi
    mkdir -p "$dir/tmp"
    case $inst in
        nginx-*)
            fill "$LAB_DIR/nginx-tls.conf" "$dir/nginx.conf" PORT="$port" CERT="$CERTS/$key.crt" \
                KEY="$CERTS/$key.key" ORIGIN_PORT="$ORIGIN_PORT"
            start_service "$inst" "$PROXY_CPU" "$out" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" ;;
        sluice-*)
            if [[ ! -x $SLUICE_HOME/bin/sluice ]]; then
                STATUS_REASON="not available: $SLUICE_HOME/bin/sluice does not exist"
                return 1
            fi
            if port_in_use "${PLAIN_PORT[$inst]}"; then
                STATUS_REASON="port ${PLAIN_PORT[$inst]} already in use by another process"
                return 1
            fi
            fill "$LAB_DIR/sluice-tls.yaml" "$dir/sluice.yaml" HTTP_PORT="${PLAIN_PORT[$inst]}" TLS_PORT="$port" \
                NAME="bench-$key" CERT="$CERTS/$key.crt" KEY="$CERTS/$key.key" ORIGIN_PORT="$ORIGIN_PORT"
            cp "$dir/sluice.yaml" "$RESULTS/$inst.yaml"
            start_service "$inst" "$PROXY_CPU" "$out" \
                "$SLUICE_HOME/bin/sluice" dataplane --config "$dir/sluice.yaml" --cpus "$PROXY_CPU" ;;
    esac
    local rc=0
    wait_ready "$inst" "$port" "$START_TIMEOUT" || rc=$?
    if [[ $rc == 0 ]]; then
        local want=EC got
        [[ $key == rsa ]] && want=RSA
        got=$(served_key "$port")
        if [[ $got != "$want" ]]; then
            STATUS_REASON="serves a ${got:-unknown} certificate for bench.local, expected $want"
            stop_service "$inst"
            return 1
        fi
        return 0
    fi
    if [[ $rc == 1 ]]; then
        STATUS_REASON="failed to start (exited): $(log_summary "$out")"
        if [[ $inst == sluice-* ]] && grep -q -i -E "unknown key '(tls|certificates)'|key 'tls'" "$out" 2>/dev/null; then
            STATUS_REASON="the data plane rejects the TLS configuration ($(grep -o -m 1 "unknown key '[A-Za-z]*'" "$out")): TLS termination (issue 4) is not in this build of Sluice"
        fi
    else
        STATUS_REASON="failed to start: no HTTPS answer with the origin's body on port $port within ${START_TIMEOUT}s (see $inst.log)"
    fi
    stop_service "$inst"
    return 1
}

status() { printf 'status\t%s\t0\tstate\t%s\n' "$1" "$2" >>"$TSV"; }
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }

# ---------------------------------------------------------------------------------------------- CPU accounting

CLK_TCK=$(getconf CLK_TCK)

# user+nice+system ticks of the whole machine.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 }' /proc/stat; }
# user+system ticks of every process in the given process groups ("" = all the lab's services).
group_ticks() {
    local groups=" ${1:-${PGID[*]}} " sum=0 line rest f
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        rest=${line##*) }
        # shellcheck disable=SC2086 # split the numeric fields on purpose
        set -- $rest
        [[ $groups == *" $3 "* ]] && sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}
# Process ids of a service's group, comma-separated (for the handshake client's --server-pids).
group_pids() { pgrep -d, -g "${PGID[$1]}" || true; }

MACH_BEFORE=0 LAB_BEFORE=0 PROXY_BEFORE=0
cpu_begin() { # instance
    MACH_BEFORE=$(machine_ticks)
    LAB_BEFORE=$(group_ticks)
    PROXY_BEFORE=$(group_ticks "${PGID[$1]}")
}
# Records the CPU used outside the lab during the last run (% of one CPU), and sets PROXY_CPU_S to the
# proxy's CPU seconds over the whole load command.
PROXY_CPU_S=0
cpu_end() { # phase target run instance
    local mach lab proxy
    mach=$(machine_ticks)
    lab=$(group_ticks)
    proxy=$(group_ticks "${PGID[$4]}")
    PROXY_CPU_S=$(awk -v t=$((proxy - PROXY_BEFORE)) -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }')
    awk -v m=$((mach - MACH_BEFORE)) -v l=$((lab - LAB_BEFORE)) -v g="$GEN_CPU" -v hz="$CLK_TCK" \
        -v secs="$GEN_WALL" -v ph="$1" -v tg="$2" -v r="$3" 'BEGIN {
            other = (m - l - g * hz) / hz / secs * 100
            printf "%s\t%s\t%s\tother_cpu\t%.1f\n", ph, tg, r, (other < 0 ? 0 : other)
        }' >>"$TSV"
}


# ---------------------------------------------------------------------------------------------- parsing

# The handshake client's RESULT line into results.tsv.
parse_client() { # file phase target run
    local f=$1 ph=$2 tg=$3 r=$4 line kv k v
    line=$(grep '^RESULT ' "$f" | tail -n 1)
    [[ -n $line && $line != *error=* ]] || return 1
    for kv in $line; do
        [[ $kv == *=* ]] || continue
        k=${kv%%=*} v=${kv#*=}
        case $k in
            handshakes_per_s) record "$ph" "$tg" "$r" rate "$v" ;;
            handshakes_per_server_cpu_s) record "$ph" "$tg" "$r" per_cpu_s "$v" ;;
            server_busy_pct) record "$ph" "$tg" "$r" proxy_busy "$v" ;;
            client_busy_pct) record "$ph" "$tg" "$r" client_busy "$v" ;;
            resumed_share|errors|hs_p50_us|hs_p99_us|handshakes|resumed) record "$ph" "$tg" "$r" "$k" "$v" ;;
            mode_held) record "$ph" "$tg" "$r" mode_held "$([[ $v == true ]] && echo 1 || echo 0)" ;;
            tls_library) TLS_LIBRARY=${v//_/ } ;;
        esac
    done
}

# wrk's output plus the proxy's CPU seconds over the run into results.tsv.
parse_wrk() { # file phase target run
    local f=$1 ph=$2 tg=$3 r=$4 rps total non2xx sock
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
    [[ -n $rps ]] || return 1
    total=$(awk '/requests in/ { print $1; exit }' "$f")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$f")
    sock=$(socket_errors "$f")
    record "$ph" "$tg" "$r" rate "$rps"
    record "$ph" "$tg" "$r" errors "$(( ${non2xx:-0} + ${sock:-0} ))"
    awk -v n="${total:-0}" -v c="$PROXY_CPU_S" -v w="$GEN_WALL" -v g="$GEN_CPU" -v ph="$ph" -v tg="$tg" -v r="$r" 'BEGIN {
        if (c > 0) printf "%s\t%s\t%s\tper_cpu_s\t%.1f\n", ph, tg, r, n / c
        if (w > 0) printf "%s\t%s\t%s\tproxy_busy\t%.1f\n", ph, tg, r, 100 * c / w
        if (w > 0) printf "%s\t%s\t%s\tclient_busy\t%.1f\n", ph, tg, r, 100 * g / w
    }' >>"$TSV"
    local p v
    for p in 50 99; do
        v=$(awk -v p="$p%" '$1 == p { print $2; exit }' "$f")
        [[ -n $v ]] && record "$ph" "$tg" "$r" "wrk_p${p}_us" "$(to_us "$v")"
    done
    return 0
}

# ---------------------------------------------------------------------------------------------- the lab

log "results and logs: $RESULTS"
log "proxy CPU $PROXY_CPU, load CPU $LOAD_CPU; $RUNS run(s) x ${DURATION}s; phases ${SELECTED_PHASES[*]}; $PROTOCOL"

# Certificates: a self-signed CA and, signed by it, an ECDSA P-256 and an RSA-2048 leaf for bench.local
# (and localhost, the name wrk sends as SNI). Each .crt is the chain, leaf first.
CERTS=$RUN_DIR/certs
mkdir -p "$CERTS"
(
    cd "$CERTS"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 7 \
        -subj "/CN=Sluice TLS lab CA" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    printf 'subjectAltName=DNS:bench.local,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >leaf.ext
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ecdsa.key -out ecdsa.csr -subj /CN=bench.local
    openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj /CN=bench.local
    for k in ecdsa rsa; do
        openssl x509 -req -in $k.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -extfile leaf.ext -out $k.leaf
        cat $k.leaf ca.crt >$k.crt
    done
    chmod 644 ./*.crt ./*.key
) >"$RESULTS/certs.log" 2>&1 || die "openssl could not make the lab's certificates; see $RESULTS/certs.log"
cp "$CERTS/ecdsa.crt" "$CERTS/rsa.crt" "$RESULTS/"

# Origin: the load lab's origin (lab/origin-nginx.conf), on this lab's port.
port_in_use "$ORIGIN_PORT" && die "port $ORIGIN_PORT (the TLS lab's origin) is already in use by another process"
mkdir -p "$RUN_DIR/origin/tmp"
sed "s/127\.0\.0\.1:18081/127.0.0.1:$ORIGIN_PORT/" "$LAB_DIR/origin-nginx.conf" >"$RUN_DIR/origin/nginx.conf"
start_service origin "$LOAD_CPU" "$RESULTS/origin.log" \
    nginx -p "$RUN_DIR/origin/" -c "$RUN_DIR/origin/nginx.conf" -e "$RUN_DIR/origin/error.log"
wait_ready origin "$ORIGIN_PORT" 20 http || die "the origin (nginx on 127.0.0.1:$ORIGIN_PORT) did not start; see $RESULTS/origin.log"

# Proxies: one instance per proxy and key type that a selected phase needs; all idle while another is measured.
declare -A NEEDED_KEY=()
for ph in "${SELECTED_PHASES[@]}"; do NEEDED_KEY[$(phase_key "$ph")]=1; done
declare -A UP=()
for p in "${SELECTED[@]}"; do
    for key in ecdsa rsa; do
        [[ -n ${NEEDED_KEY[$key]:-} ]] || continue
        inst=$p-$key
        log "starting $inst on 127.0.0.1:${PORT[$inst]}"
        if start_proxy "$inst"; then
            UP[$inst]=1
            status "$inst" ok
        else
            log "$inst: $STATUS_REASON"
            status "$inst" "$STATUS_REASON"
        fi
    done
done
[[ ${#UP[@]} -gt 0 ]] || log "no proxy could be started"

lost() { # instance phase run
    log "$1 is no longer running (during $2 run $3); it is left out from here on"
    status "$1" "stopped during the $2 phase, run $3; see perf/target/tls-lab/$STAMP/$1.log"
    unset "UP[$1]"
}

TLS_LIBRARY=""
client() { # outfile instance mode warmup duration
    local extra=()
    [[ $TLS12 == 1 ]] && extra+=(--tls12)
    run_load "$1" "$JAVA" "${JAVA_FLAGS[@]}" -cp "$JAR" io.sluice.perf.loadgen.TlsHandshakeClient \
        --mode "$3" "${extra[@]}" -c "$CONNECTIONS" -w "$4" -d "$5" --timeout 2s --sni bench.local \
        --server-pids "$(group_pids "$2")" --clk-tck "$CLK_TCK" "https://127.0.0.1:${PORT[$2]}/"
}

# wrk connects to 127.0.0.1 whatever "localhost" resolves to first (::1 is not served), and sends SNI and
# Host "localhost", a name on both certificates and in Sluice's certificate hosts.
printf 'function setup(thread)\n  thread.addr = wrk.lookup("127.0.0.1", wrk.port)[1]\nend\n' >"$RUN_DIR/pin.lua"
run_wrk() { # outfile seconds instance
    run_load "$1" wrk -t1 -c"$KA_CONNECTIONS" -d"$2"s --timeout 2s --latency -s "$RUN_DIR/pin.lua" \
        "https://localhost:${PORT[$3]}/"
}

for ph in "${SELECTED_PHASES[@]}"; do
    key=$(phase_key "$ph")
    mode=full
    [[ $ph == resumed ]] && mode=resumed
    # Warm-up per phase: the JIT of Sluice's handshake/keep-alive path, nginx's caches. Not recorded.
    for p in "${SELECTED[@]}"; do
        inst=$p-$key
        [[ -n ${UP[$inst]:-} ]] || continue
        log "$ph: warming up $inst (${WARMUP}s)"
        if [[ $ph == keepalive ]]; then
            run_wrk /dev/null "$WARMUP" "$inst"
        else
            client /dev/null "$inst" "$mode" 0 "$WARMUP"
        fi
    done
    for run in $(seq "$RUNS"); do
        for p in "${SELECTED[@]}"; do
            inst=$p-$key
            [[ -n ${UP[$inst]:-} ]] || continue
            alive "$inst" || { lost "$inst" "$ph" "$run"; continue; }
            out=$RESULTS/$ph-$p-$run.txt
            cpu_begin "$inst"
            if [[ $ph == keepalive ]]; then
                run_wrk "$out" "$DURATION" "$inst"
            else
                client "$out" "$inst" "$mode" "$CLIENT_WARMUP" "$DURATION"
            fi
            cpu_end "$ph" "$p" "$run" "$inst"
            if [[ $ph == keepalive ]]; then
                if parse_wrk "$out" "$ph" "$p" "$run"; then
                    log "$(printf '%-10s run %s/%s  %-7s' "$ph" "$run" "$RUNS" "$p") $(awk '/^Requests\/sec:/ { printf "%.0f req/s", $2 }' "$out"), proxy CPU ${PROXY_CPU_S}s"
                else
                    log "$ph run $run/$RUNS  $p: no result (see $out)"
                fi
            else
                if parse_client "$out" "$ph" "$p" "$run"; then
                    log "$(printf '%-10s run %s/%s  %-7s' "$ph" "$run" "$RUNS" "$p") $(awk '/^RESULT / { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                        printf "%.0f hs/s, %.0f per proxy-CPU-s, proxy %.0f%% / client %.0f%% busy, resumed %.0f%%, errors %d", v["handshakes_per_s"], v["handshakes_per_server_cpu_s"], v["server_busy_pct"], v["client_busy_pct"], 100 * v["resumed_share"], v["errors"] }' "$out")"
                    grep -q '^WARNING' "$out" && log "  $(grep '^WARNING' "$out" | head -n 1 | cut -c1-200)"
                else
                    log "$ph run $run/$RUNS  $p: no result (see $out)"
                fi
            fi
            alive "$inst" || lost "$inst" "$ph" "$run"
        done
    done
done

# ---------------------------------------------------------------------------------------------- report

first() { "$@" 2>&1 | head -n 1; }
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "command=bin/sluice perf tls${ARGS_SHOWN:+ $ARGS_SHOWN}"
    echo "cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "cpus=$NCPU"
    echo "hypervisor=$(lscpu 2>/dev/null | awk -F': *' '/^Hypervisor vendor/ { print $2 }')"
    echo "kernel=$(uname -r)"
    echo "nginx_version=$(first nginx -v | sed 's|.*nginx/||')"
    echo "nginx_openssl=$(nginx -V 2>&1 | sed -n 's/^built with \(.*\) (running with .*)$/\1/p; t; s/^built with //p' | head -n 1)"
    echo "nginx_openssl_running=$(nginx -V 2>&1 | sed -n 's/.*(running with \(.*\))/\1/p' | head -n 1)"
    echo "openssl_version=$(first openssl version)"
    echo "client_tls_library=${TLS_LIBRARY:-BoringSSL (netty-tcnative, version not reported)}"
    echo "wrk_version=$(first wrk -v | awk '{ print $2 }')"
    echo "java_version=$(first "$JAVA" -version | sed 's/"//g')"
    commit=$(git -C "$SLUICE_HOME" rev-parse --short HEAD 2>/dev/null || echo "(no commit)")
    git -C "$SLUICE_HOME" diff-index --quiet HEAD -- 2>/dev/null || commit="$commit + uncommitted changes"
    echo "sluice_commit=$commit"
    echo "quick=$QUICK"
    echo "runs=$RUNS"
    echo "duration_s=$DURATION"
    echo "warmup_s=$WARMUP"
    echo "client_warmup_s=$CLIENT_WARMUP"
    echo "connections=$CONNECTIONS"
    echo "ka_connections=$KA_CONNECTIONS"
    echo "protocol=$PROTOCOL"
    echo "phases=$(IFS=,; echo "${SELECTED_PHASES[*]}")"
    echo "proxies=$(IFS=,; echo "${SELECTED[*]}")"
    echo "proxy_cpu=$PROXY_CPU"
    echo "load_cpu=$LOAD_CPU"
} >"$RESULTS/facts.txt"
nginx -V >"$RESULTS/nginx-V.txt" 2>&1 || true

report=("$JAVA" -cp "$JAR" io.sluice.perf.lab.TlsLabReport --results "$TSV" --facts "$RESULTS/facts.txt"
        --section-out "$RESULTS/tls-lab-section.md")
case $WRITE in
    1) report+=(--benchmarks "$SLUICE_HOME/BENCHMARKS.md") ;;
    auto) report+=(--benchmarks "$SLUICE_HOME/BENCHMARKS.md" --if-undisturbed) ;;
esac
"${report[@]}" | tee "$RESULTS/summary.txt"
log "raw outputs: $RESULTS"

# A lab in which no proxy could be measured at all is broken (missing packages, ports taken): say so.
if ! awk -F'\t' '$1 != "status" && $4 == "rate" { found = 1 } END { exit !found }' "$TSV"; then
    log "no proxy was measured"
    exit 1
fi
