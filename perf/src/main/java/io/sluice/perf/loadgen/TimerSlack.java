package io.sluice.perf.loadgen;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Shrinks the calling thread's timer slack, so that its timed waits end when asked rather than up to
 * 50 µs later.
 *
 * <p>Linux lets a timer expire anywhere within a per-thread slack (50 µs by default) to batch wake-ups.
 * For the pacer of a constant-rate generator that slack is pure lateness: every request would leave,
 * and be measured, tens of microseconds late, which is a large share of a proxy's p50 on loopback.
 * Calls {@code prctl(PR_SET_TIMERSLACK, 1)} through the FFM API; harmless no-op elsewhere.
 */
final class TimerSlack {
    private static final int PR_SET_TIMERSLACK = 29;

    private TimerSlack() {
    }

    /** Sets the calling thread's timer slack to 1 ns; false when not possible here. */
    static boolean minimise() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return false;
        }
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle prctl = linker.downcallHandle(
                linker.defaultLookup().find("prctl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
            return (int) prctl.invokeExact(PR_SET_TIMERSLACK, 1L) == 0;
        } catch (Throwable e) {
            return false;
        }
    }
}
