package io.sluice.dataplane.metrics;

/**
 * Fixed latency buckets shared by every histogram: powers of two from 16 µs to about 16.8 s, then +Inf. The index of a
 * duration is computed without a loop or a branch on the bucket bounds ({@link #index}), so recording is a shift, a
 * leading-zero count and an array increment.
 *
 * <pre>
 *   bucket i (0..20): le = 16 µs * 2^i     (16 µs, 32 µs, 64 µs, ... 8.4 s, 16.8 s)
 *   bucket 21:        le = +Inf
 * </pre>
 */
public final class LatencyBuckets {
    /** Finite buckets. */
    public static final int FINITE = 21;
    /** Buckets including +Inf. */
    public static final int COUNT = FINITE + 1;

    private LatencyBuckets() {
    }

    /** The bucket of a duration in nanoseconds (negative counts as 0). */
    public static int index(long nanos) {
        long units = Math.max(0, nanos - 1) >>> 14; // 16.384 µs units: close enough to 16 µs, and a shift
        int i = 64 - Long.numberOfLeadingZeros(units);
        return Math.min(i, FINITE);
    }

    /** Upper bound of bucket {@code i} in seconds, as the exposition's {@code le} label. */
    public static double upperSeconds(int i) {
        return i >= FINITE ? Double.POSITIVE_INFINITY : (16_384L << i) / 1e9;
    }
}
