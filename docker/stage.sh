#!/usr/bin/env bash
# Lays the built jars out as the image has them, one directory per program (each a complete classpath):
#   OUT/lib/dataplane/*.jar   OUT/lib/agent/*.jar   OUT/lib/nic-tuning/*.jar
# Used by the Dockerfile's build stage and by the deploy tests (which run docker/entrypoint.sh against it).
#   docker/stage.sh SRC OUT      SRC: a checkout after `mvn -DskipTests package`
set -euo pipefail
src="${1:?usage: stage.sh SRC OUT}"
out="${2:?usage: stage.sh SRC OUT}"

stage() {  # stage NAME MODULE
  local dir="$out/lib/$1" module="$src/$2" n=0 j
  mkdir -p "$dir"
  for j in "$module"/target/sluice-*.jar; do
    case "$j" in *-sources.jar|*-tests.jar|*-javadoc.jar) continue ;; esac
    [ -f "$j" ] && cp "$j" "$dir"/ && n=$((n + 1))
  done
  [ "$n" -eq 1 ] || { echo "stage.sh: expected one jar in $module/target, found $n (run mvn -DskipTests package)" >&2; exit 1; }
  if [ -d "$module/target/lib" ]; then
    cp "$module"/target/lib/*.jar "$dir"/
  fi
}

stage dataplane dataplane
stage agent controlplane-agent
stage nic-tuning nic-tuning
echo "stage.sh: $(find "$out/lib" -name '*.jar' | wc -l) jars under $out/lib"
