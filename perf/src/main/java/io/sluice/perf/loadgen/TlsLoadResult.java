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
 */
public record TlsLoadResult(TlsLoadOptions options, double seconds, String tlsLibrary, long handshakes,
                            long resumed, long exchanges, long non2xx, long connectErrors, long tlsErrors,
                            long otherErrors, long timeouts, Histogram handshakeTime, Histogram exchangeTime) {

    public double handshakesPerSecond() {
        return handshakes / seconds;
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
        out.printf(Locale.ROOT, "Errors: %d (non-2xx %d, connect %d, TLS %d, other %d, timeouts %d)%n", errors(),
            non2xx, connectErrors, tlsErrors, otherErrors, timeouts);
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
                + "timeouts=%d tls_library=%s",
            options.mode(), options.protocol(), options.connections(), seconds, handshakes, handshakesPerSecond(),
            resumed, nanToZero(resumedShare()), modeHeld(), exchanges, nanToZero(micros(handshakeTime, 50)),
            nanToZero(micros(handshakeTime, 99)), handshakeTime.getMaxValue() / 1000.0,
            nanToZero(micros(exchangeTime, 50)), nanToZero(micros(exchangeTime, 99)), errors(), non2xx,
            connectErrors, tlsErrors, otherErrors, timeouts, tlsLibrary.replace(' ', '_'));
    }
}
