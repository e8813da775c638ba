#!/usr/bin/env bash
# Runs one of the agent's benchmarks (src/test/java/io/sluice/agent/bench) in a JDK 25 JVM with the test class path.
#   controlplane-agent/bench.sh CompileBenchmark [ingresses] [iterations]        (run with -Xmx256m: the heap goal)
#   controlplane-agent/bench.sh PublishLatencyBenchmark [publications] [hosts]
#   controlplane-agent/bench.sh FileChangeLatencyBenchmark [edits] [agent options...]
# SKIP_BUILD=1 reuses the last build. JAVA_OPTS adds JVM options (default -Xmx256m).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
java="${SLUICE_JAVA:-}"
if [ -z "$java" ]; then
  for c in "${JAVA_HOME:-}/bin/java" /usr/lib/jvm/temurin-25*/bin/java /usr/lib/jvm/*-25*/bin/java; do
    if [ -x "$c" ] && "$c" -version 2>&1 | head -1 | grep -Eq '"25(\.|")'; then java="$c"; break; fi
  done
fi
[ -n "$java" ] || { echo "bench.sh: no JDK 25 found (set SLUICE_JAVA)" >&2; exit 1; }
cp_file="$root/controlplane-agent/target/bench-classpath.txt"
if [ "${SKIP_BUILD:-}" != 1 ] || [ ! -f "$cp_file" ]; then
  mvn -B -q -pl controlplane-agent -am test-compile dependency:build-classpath -DskipTests \
      -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test >&2
fi
name="${1:?usage: bench.sh BenchmarkClass [args...]}"; shift
# The dependency plugin lists the reactor modules' target/classes (routetable, dataplane, nic-tuning) and the jars.
cp="controlplane-agent/target/test-classes:controlplane-agent/target/classes:$(cat "$cp_file")"
exec "$java" --add-exports java.base/jdk.internal.misc=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
     --enable-native-access=ALL-UNNAMED ${JAVA_OPTS:--Xmx256m} -cp "$cp" "io.sluice.agent.bench.$name" "$@"
