package io.sluice.perf.loadgen;

import java.io.PrintStream;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * What a TLS handshake run measured, over the measured window only. Times are nanoseconds inside,
 * microseconds outside.
 *
 * @param options        what was run
 * @param seconds        length of the measured window
 * @param tlsLibrary     the client's TLS library (BoringSSL through netty-tcnative, with its version)
 * @param handshakes     handshakes completed successfully in the window
 * @param resumed        of those, how many the server resumed (abbreviated handshake, no certificate)
 * @param exchanges      connections whose whole exchange (handshake, request, response) completed in the window
 * @param non2xx         of those, responses with a status outside 2xx
 * @param connectErrors  failed TCP connects
 * @param tlsErrors      failed handshakes (alerts, resets or closes during the handshake)
 * @param otherErrors    resets, early closes or unframeable bytes after the handshake
 * @param timeouts       connections not done within the timeout
 * @param handshakeTime  per handshake: from TCP connected to handshake complete, as the client saw it
 * @param exchangeTime   per exchange: from starting the TCP connect to the complete response
 * @param serverCpuSeconds CPU time (user + system) the server's processes used in the window; NaN when not
 *                       sampled ({@code --server-pids} not given, or /proc unreadable)
 * @param clientCpuSeconds CPU time this generator used in the window; NaN when /proc is unreadable
 * @param extraWarmupSeconds how much longer than asked the warm-up lasted: in resumed mode the window opens
 *                       only once every slot has a session to offer (bounded wait)
 * @param unprimedSlots  resumed mode: slots that still had no session when the window opened (the bounded
 *                       wait ran out); their first handshakes in the window are full ones
 */
public record TlsLoadResult(TlsLoadOptions options, double seconds, String tlsLibrary, long handshakes,
                            long resumed, long exchanges, long non2xx, long connectErrors, long tlsErrors,
                            long otherErrors, long timeouts, Histogram handshakeTime, Histogram exchangeTime,
                            double serverCpuSeconds, double clientCpuSeconds, double extraWarmupSeconds,
                            int unprimedSlots) {

    public double handshakesPerSecond() {
        return handshakes / seconds;
    }

    /**
     * Handshakes per second of server CPU time: the server's cost per handshake, comparable between servers even
     * when the client, not the server, set the rate. NaN when the server's CPU time was not sampled.
     */
    public double handshakesPerServerCpuSecond() {
        return serverCpuSeconds > 0 ? handshakes / serverCpuSeconds : Double.NaN;
    }

    /** Server CPU time as a percentage of the window (100 = one core busy all the time). */
    public double serverBusyPercent() {
        return 100 * serverCpuSeconds / seconds;
    }

    /** This generator's CPU time as a percentage of the window (100 = one core busy all the time). */
    public double clientBusyPercent() {
        return 100 * clientCpuSeconds / seconds;
    }

    /** Share of the window's handshakes that were resumed, 0..1; NaN without handshakes. */
    public double resumedShare() {
        return handshakes == 0 ? Double.NaN : (double) resumed / handshakes;
    }

    public long errors() {
        return non2xx + connectErrors + tlsErrors + otherErrors + timeouts;
    }

    /**
     * False when a resumed run did not resume at least {@link TlsLoadOptions#minResumedShare()} of its handshakes
     * (its rate is then not a resumed-handshake rate), or when a full run resumed any.
     */
    public boolean modeHeld() {
        if (handshakes == 0) {
            return false;
        }
        return options.resumed() ? resumedShare() >= options.minResumedShare() : resumed == 0;
    }

    private static double micros(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
    }

    /** Prints the human-readable summary and, last, the machine-readable RESULT line. */
    public void print(PrintStream out) {
        out.printf(Locale.ROOT, "Handshakes: %d in %.1f s = %.1f handshakes/s (%s %s, %d slot(s), %s)%n",
            handshakes, seconds, handshakesPerSecond(), options.mode(), options.protocol(), options.connections(),
            tlsLibrary);
        out.printf(Locale.ROOT, "Resumed: %d of %d (%.1f%%)%n", resumed, handshakes, 100 * nanToZero(resumedShare()));
        out.printf(Locale.ROOT, "Handshake time (TCP connected -> handshake done): p50 %.1f us, p99 %.1f us, max %.1f us%n",
            micros(handshakeTime, 50), micros(handshakeTime, 99), handshakeTime.getMaxValue() / 1000.0);
        out.printf(Locale.ROOT, "Exchange time (connect -> response): p50 %.1f us, p99 %.1f us; %d exchanges, %.1f/s%n",
            micros(exchangeTime, 50), micros(exchangeTime, 99), exchanges, exchanges / seconds);
        if (!Double.isNaN(serverCpuSeconds)) {
            out.printf(Locale.ROOT, "Server CPU: %.2f s in the window (%.0f%% of a core) = %.1f handshakes per "
                + "server-CPU-second%n", serverCpuSeconds, serverBusyPercent(), handshakesPerServerCpuSecond());
        }
        if (!Double.isNaN(clientCpuSeconds)) {
            out.printf(Locale.ROOT, "Client CPU: %.2f s in the window (%.0f%% of a core)%s%n", clientCpuSeconds,
                clientBusyPercent(), clientBusyPercent() > 90 * options.threads()
                    ? ": the client was saturated, the rate above is (also) the client's limit" : "");
        }
        out.printf(Locale.ROOT, "Errors: %d (non-2xx %d, connect %d, TLS %d, other %d, timeouts %d)%n", errors(),
            non2xx, connectErrors, tlsErrors, otherErrors, timeouts);
        if (extraWarmupSeconds >= 0.01 || unprimedSlots > 0) {
            out.printf(Locale.ROOT, "Warm-up extended by %.2f s until every slot held a session to offer%s%n",
                extraWarmupSeconds, unprimedSlots > 0 ? "; " + unprimedSlots + " slot(s) still had none" : "");
        }
        if (!modeHeld()) {
            if (handshakes == 0) {
                out.println("WARNING: no handshake completed in the measured window.");
            } else if (options.resumed()) {
                out.printf(Locale.ROOT, "WARNING: RESUMPTION FAILED: only %.1f%% of the handshakes were resumed "
                        + "(a resumed run needs >= %.0f%%). These are NOT resumed-handshake numbers: the server does "
                        + "not resume (tickets or session cache off?) or rejects the offered sessions.%n",
                    100 * resumedShare(), 100 * options.minResumedShare());
            } else {
                out.printf(Locale.ROOT, "WARNING: %d handshakes of a full run were resumed; the client should never "
                    + "offer a session in full mode.%n", resumed);
            }
        }
        out.println(machineLine());
    }

    private static double nanToZero(double v) {
        return Double.isNaN(v) ? 0 : v;
    }

    /** One line of {@code key=value} pairs, starting with {@code RESULT}; times in microseconds. */
    public String machineLine() {
        return String.format(Locale.ROOT, "RESULT generator=sluice-tls-loadgen mode=%s protocol=%s connections=%d "
                + "seconds=%.3f handshakes=%d handshakes_per_s=%.1f resumed=%d resumed_share=%.4f mode_held=%s "
                + "exchanges=%d hs_p50_us=%.1f hs_p99_us=%.1f hs_max_us=%.1f exchange_p50_us=%.1f "
                + "exchange_p99_us=%.1f errors=%d non2xx=%d connect_errors=%d tls_errors=%d other_errors=%d "
                + "timeouts=%d server_cpu_s=%.3f server_busy_pct=%.1f handshakes_per_server_cpu_s=%.1f "
                + "client_cpu_s=%.3f client_busy_pct=%.1f extra_warmup_s=%.2f unprimed_slots=%d tls_library=%s",
            options.mode(), options.protocol(), options.connections(), seconds, handshakes, handshakesPerSecond(),
            resumed, nanToZero(resumedShare()), modeHeld(), exchanges, nanToZero(micros(handshakeTime, 50)),
            nanToZero(micros(handshakeTime, 99)), handshakeTime.getMaxValue() / 1000.0,
            nanToZero(micros(exchangeTime, 50)), nanToZero(micros(exchangeTime, 99)), errors(), non2xx,
            connectErrors, tlsErrors, otherErrors, timeouts, nanToZero(serverCpuSeconds),
            nanToZero(serverBusyPercent()), nanToZero(handshakesPerServerCpuSecond()), nanToZero(clientCpuSeconds),
            nanToZero(clientBusyPercent()), extraWarmupSeconds, unprimedSlots, tlsLibrary.replace(' ', '_'));
    }
}
