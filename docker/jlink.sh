#!/usr/bin/env bash
# Builds the minimal Java runtime of the image: the modules jdeps finds in the staged jars, plus the ones only
# reached through reflection or service loading (jdeps cannot see those), linked from a JDK 25.
#   docker/jlink.sh JDK_HOME LIBROOT OUT     LIBROOT: stage.sh's OUT/lib
set -euo pipefail
jdk="${1:?usage: jlink.sh JDK_HOME LIBROOT OUT}"
libroot="${2:?usage: jlink.sh JDK_HOME LIBROOT OUT}"
out="${3:?usage: jlink.sh JDK_HOME LIBROOT OUT}"

# jdk.unsupported: sun.misc.Unsafe (Netty, Disruptor); jdk.naming.dns: Netty's DNS server discovery (JNDI provider);
# java.management + jdk.management: JVM metrics (memory, GC, threads); jdk.jfr: flight recordings in production;
# jdk.httpserver: an admin listener may use it; jdk.crypto.cryptoki stays out (no PKCS#11 here).
extra="jdk.unsupported,jdk.naming.dns,java.management,jdk.management,jdk.management.jfr,jdk.jfr,jdk.httpserver"

found=""
for dir in "$libroot"/*/; do
  mods="$("$jdk/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 25 -q \
          --class-path "$dir*" "$dir"*.jar)"
  found="$found,$mods"
done
modules="$(echo "${found#,},$extra" | tr ',' '\n' | sed '/^$/d' | sort -u | paste -sd, -)"
echo "jlink.sh: modules $modules"
rm -rf "$out"
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=zip-6 \
  --output "$out"
"$out/bin/java" -version
