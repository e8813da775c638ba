#!/usr/bin/env bash
# Entrypoint of the Sluice image: one image, every program, with the JVM flags of bin/sluice.
#   dataplane --config FILE [...]   the data plane (io.sluice.dataplane.DataPlaneMain dataplane)
#   explain --routes FILE --host H --path P
#   agent [...]                     the control-plane agent (io.sluice.agent.AgentMain)
#   nic-tuning VERB [...]           inspect | plan | apply | verify | revert (io.sluice.nictuning.NicTuningMain)
#   nic-tuning-init [...]           the DaemonSet's init step: tune the node for this pod's CPUs, write the core map
# Environment: SLUICE_HEAP (-Xmx; default 1g for the data plane, 256m for the agent), SLUICE_JAVA_OPTS (appended);
# nic-tuning-init: SLUICE_NIC_TUNING, SLUICE_SHARD_CPUS, SLUICE_COREMAP, SLUICE_NIC_TUNING_STATE, SLUICE_HOST_ROOT
# (see docker/README.md). SLUICE_HOME (/opt/sluice) and JAVA_HOME (/opt/java) are where the image puts them.
set -euo pipefail

SLUICE_HOME="${SLUICE_HOME:-/opt/sluice}"
JAVA_HOME="${JAVA_HOME:-/opt/java}"
JAVA="$JAVA_HOME/bin/java"

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

# Same as bin/sluice's JVM_FLAGS; in a container an out-of-memory error ends the process (the kubelet restarts it).
jvm_flags() {
  JVM_FLAGS=(--add-exports java.base/jdk.internal.misc=ALL-UNNAMED
             --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED
             -XX:+UseParallelGC -Xms"$1" -Xmx"${SLUICE_HEAP:-$2}" -XX:+AlwaysPreTouch -XX:+ExitOnOutOfMemoryError
             -Dio.netty.leakDetection.level=disabled -Dio.netty.tryReflectionSetAccessible=true
             -Dio.netty.buffer.checkAccessible=false)
  if [ -n "${SLUICE_JAVA_OPTS:-}" ]; then
    read -r -a extra <<<"$SLUICE_JAVA_OPTS"
    JVM_FLAGS+=("${extra[@]}")
  fi
}

# A process's capability bounding set has CAP_NET_BIND_SERVICE (bit 10)?
can_bind_low_ports() {
  local bnd
  bnd="$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)"
  [ -n "$bnd" ] && [ $(( (16#$bnd >> 10) & 1 )) -eq 1 ]
}

# The data plane runs as a non-root user yet binds ports 80 and 443. Kubernetes cannot give a non-root process
# capabilities (no ambient capabilities), so the image carries a copy of the java launcher with the file capability
# cap_net_bind_service=+ep (java-netbind). Exec'ing it needs that capability in the bounding set, else execve fails
# with EPERM; without it (e.g. a local run with --cap-drop ALL) the plain launcher runs and ports below 1024 fail.
dataplane_java() {
  if [ "$(id -u)" != 0 ] && [ -x "$JAVA_HOME/bin/java-netbind" ] && can_bind_low_ports; then
    echo "$JAVA_HOME/bin/java-netbind"
  else
    echo "$JAVA"
  fi
}

# The CPUs this container may run on (its cpuset: whole cores under the kubelet's static CPU manager).
own_cpus() {
  sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status
}

nic_tuning_init() {
  local mode="${SLUICE_NIC_TUNING:-apply}" cpus="${SLUICE_SHARD_CPUS:-container}"
  local coremap="${SLUICE_COREMAP:-/run/sluice/coremap.json}"
  local state="${SLUICE_NIC_TUNING_STATE:-/var/lib/sluice/nic-tuning-state.json}"
  local root="${SLUICE_HOST_ROOT:-}"
  if [ -z "$root" ]; then
    # The DaemonSet mounts the host's /proc and /sys under /host: the container's own /proc shows only its own
    # processes (irqbalance would go unseen) and its /sys is read-only.
    if [ -d /host/sys/class/net ] && [ -d /host/proc/irq ]; then root=/host; else root=/; fi
  fi
  local args=(--root "$root" --coremap "$coremap")
  case "$cpus" in
    container) args+=(--cpus "$(own_cpus)") ;;
    numa|"") ;;
    *) args+=(--cpus "$cpus") ;;
  esac
  mkdir -p "$(dirname "$coremap")"
  case "$mode" in
    off)
      echo "nic-tuning-init: SLUICE_NIC_TUNING=off: node left as it is, no core map (the data plane uses its own CPUs)"
      return 0 ;;
    plan)
      echo "nic-tuning-init: plan only (no change to the node), core map to $coremap"
      set -- plan "${args[@]}" "$@" ;;
    apply)
      mkdir -p "$(dirname "$state")"
      echo "nic-tuning-init: apply for CPUs ${cpus/container/$(own_cpus)}, core map to $coremap, state in $state"
      set -- apply --yes --state "$state" "${args[@]}" "$@" ;;
    *) echo "nic-tuning-init: SLUICE_NIC_TUNING must be apply, plan or off, not '$mode'" >&2; return 2 ;;
  esac
  exec "$JAVA" -Xmx64m -XX:TieredStopAtLevel=1 -cp "$SLUICE_HOME/lib/nic-tuning/*" \
    io.sluice.nictuning.NicTuningMain "$@"
}

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
  dataplane|explain)
    jvm_flags 256m 1g
    exec "$(dataplane_java)" "${JVM_FLAGS[@]}" -cp "$SLUICE_HOME/lib/dataplane/*" \
      io.sluice.dataplane.DataPlaneMain "$cmd" "$@" ;;
  agent)
    jvm_flags 64m 256m
    exec "$JAVA" "${JVM_FLAGS[@]}" -cp "$SLUICE_HOME/lib/agent/*" io.sluice.agent.AgentMain "$@" ;;
  nic-tuning)
    exec "$JAVA" -Xmx64m -cp "$SLUICE_HOME/lib/nic-tuning/*" io.sluice.nictuning.NicTuningMain "$@" ;;
  nic-tuning-init)
    nic_tuning_init "$@" ;;
  help|-h|--help)
    usage ;;
  *)
    echo "sluice-entrypoint: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
