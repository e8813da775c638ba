/**
 * JMH micro-benchmarks, packaged into {@code perf/target/benchmarks.jar}; run them with
 * {@code java -jar perf/target/benchmarks.jar -prof gc [regex]} (see perf/README.md).
 * Results and their method go to BENCHMARKS.md.
 */
package io.sluice.perf.jmh;
