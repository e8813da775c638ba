package io.sluice.agent.bench;

import java.util.Arrays;

/** Percentiles of a set of samples (nanoseconds), printed in microseconds or milliseconds. */
final class Stats {
    private final long[] sorted;

    Stats(long[] nanos, int from, int to) {
        sorted = Arrays.copyOfRange(nanos, from, to);
        Arrays.sort(sorted);
    }

    Stats(long[] nanos) {
        this(nanos, 0, nanos.length);
    }

    long percentile(double p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    long max() {
        return sorted[sorted.length - 1];
    }

    int count() {
        return sorted.length;
    }

    String micros() {
        return String.format("p50 %7.1f µs  p90 %7.1f µs  p99 %7.1f µs  max %8.1f µs  (n=%d)", percentile(50) / 1e3,
            percentile(90) / 1e3, percentile(99) / 1e3, max() / 1e3, count());
    }

    String millis() {
        return String.format("p50 %6.1f ms  p90 %6.1f ms  p99 %6.1f ms  max %6.1f ms  (n=%d)", percentile(50) / 1e6,
            percentile(90) / 1e6, percentile(99) / 1e6, max() / 1e6, count());
    }
}
