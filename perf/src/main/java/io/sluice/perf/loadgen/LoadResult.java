package io.sluice.perf.loadgen;

import java.io.PrintStream;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * What a constant-rate run measured. Latencies are in nanoseconds inside, microseconds outside.
 *
 * @param targetRate   requested requests per second
 * @param connections  keep-alive connections used
 * @param seconds      length of the measured window, stretched to the last response to one of its requests
 * @param transport    Netty transport used by the generator (epoll or nio)
 * @param latency      response time of each measured request, counted from its due time
 * @param sendLag      the generator's own lateness per measured request: from when it could have been sent
 *                     (due, and its connection free) to when it was
 * @param ok           2xx responses
 * @param non2xx       other complete responses
 * @param socketErrors failed connects, resets and unframeable responses while measuring
 * @param timeouts     requests without a response within the timeout
 * @param unsent       requests due in the window that never left because their connection stayed busy
 */
public record LoadResult(double targetRate, int connections, double seconds, String transport,
                         Histogram latency, Histogram sendLag, long ok, long non2xx, long socketErrors,
                         long timeouts, long unsent) {

    /** Completed responses (any status) per second of the measured window. */
    public double achievedRate() {
        return (ok + non2xx) / seconds;
    }

    /** Latency at {@code percentile} (0..100) in microseconds. */
    public double latencyMicros(double percentile) {
        return latency.getValueAtPercentile(percentile) / 1000.0;
    }

    /** Prints the human-readable summary and, last, the machine-readable RESULT line. */
    public void print(PrintStream out, boolean distribution) {
        out.printf(Locale.ROOT, "Latency from each request's intended send time (coordinated-omission free), "
            + "%d responses:%n", latency.getTotalCount());
        out.printf(Locale.ROOT, "  %10s %10s %10s %10s %10s %10s%n", "p50", "p90", "p99", "p99.9", "p99.99", "max");
        out.printf(Locale.ROOT, "  %10s %10s %10s %10s %10s %10s%n", fmt(latencyMicros(50)),
            fmt(latencyMicros(90)), fmt(latencyMicros(99)), fmt(latencyMicros(99.9)), fmt(latencyMicros(99.99)),
            fmt(latency.getMaxValue() / 1000.0));
        out.printf(Locale.ROOT, "Rate: %.1f req/s achieved of %.1f requested over %.1f s, %d connections (%s)%n",
            achievedRate(), targetRate, seconds, connections, transport);
        out.printf(Locale.ROOT, "Errors: non-2xx %d, socket %d, timeouts %d, unsent %d%n", non2xx, socketErrors,
            timeouts, unsent);
        out.printf(Locale.ROOT, "Generator send lag (its own lateness, included above): p50 %s, p99 %s, max %s%n",
            fmt(sendLag.getValueAtPercentile(50) / 1000.0), fmt(sendLag.getValueAtPercentile(99) / 1000.0),
            fmt(sendLag.getMaxValue() / 1000.0));
        if (achievedRate() < 0.98 * targetRate) {
            out.println("WARNING: achieved rate is more than 2% below the requested rate: the server (or the "
                + "generator, see send lag) could not keep up; latencies are those of an overloaded system.");
        }
        if (distribution) {
            out.println("Percentile distribution (microseconds):");
            latency.outputPercentileDistribution(out, 5, 1000.0);
        }
        out.println(machineLine());
    }

    /** One line of {@code key=value} pairs, starting with {@code RESULT}; latencies in microseconds. */
    public String machineLine() {
        return String.format(Locale.ROOT, "RESULT generator=sluice-loadgen target_rate=%.1f achieved_rate=%.1f "
                + "connections=%d seconds=%.3f requests=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f "
                + "p9999_us=%.1f max_us=%.1f mean_us=%.1f non2xx=%d socket_errors=%d timeouts=%d unsent=%d "
                + "send_lag_p99_us=%.1f send_lag_max_us=%.1f",
            targetRate, achievedRate(), connections, seconds, ok + non2xx, latencyMicros(50), latencyMicros(90),
            latencyMicros(99), latencyMicros(99.9), latencyMicros(99.99), latency.getMaxValue() / 1000.0,
            latency.getTotalCount() == 0 ? 0.0 : latency.getMean() / 1000.0, non2xx, socketErrors, timeouts,
            unsent, sendLag.getValueAtPercentile(99) / 1000.0, sendLag.getMaxValue() / 1000.0);
    }

    private static String fmt(double micros) {
        if (micros >= 10_000) {
            return String.format(Locale.ROOT, "%.2fms", micros / 1000.0);
        }
        return String.format(Locale.ROOT, "%.1fus", micros);
    }
}
