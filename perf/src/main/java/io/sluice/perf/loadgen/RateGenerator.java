package io.sluice.perf.loadgen;

import java.util.Locale;

/**
 * Command-line entry of the constant-rate HTTP/1.1 load generator (the lab's stand-in for wrk2).
 *
 * <p>Run it from the benchmarks jar:
 * {@code java -cp perf/target/benchmarks.jar io.sluice.perf.loadgen.RateGenerator --rate 40000 http://127.0.0.1:18082/}.
 * See {@link LoadOptions#USAGE} for the options and {@link ConstantRateClient} for how it measures.
 *
 * <p>Exit status: 0 after a run (whatever its errors: they are in the output), 2 on bad arguments,
 * 1 when the target could not be reached at all.
 */
public final class RateGenerator {

    private RateGenerator() {
    }

    public static void main(String[] args) {
        LoadOptions options;
        try {
            if (args.length == 0 || "-h".equals(args[0]) || "--help".equals(args[0])) {
                System.out.print(LoadOptions.USAGE);
                System.exit(args.length == 0 ? 2 : 0);
                return;
            }
            options = LoadOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("RateGenerator: " + e.getMessage());
            System.err.print(LoadOptions.USAGE);
            System.exit(2);
            return;
        }
        System.out.printf(Locale.ROOT, "sluice-loadgen: %.0f req/s over %d connections to http://%s:%d%s, "
                + "%.1f s warm-up + %.1f s measured%n", options.ratePerSecond(), options.connections(),
            options.host(), options.port(), options.path(), options.warmupNanos() / 1e9, options.durationNanos() / 1e9);
        try {
            LoadResult result = new ConstantRateClient(options).run();
            result.print(System.out, options.distribution());
            System.exit(0);
        } catch (Exception e) {
            System.err.println("RateGenerator: " + e.getMessage());
            System.out.println("RESULT generator=sluice-loadgen error=" + e.getClass().getSimpleName());
            System.exit(1);
        }
    }
}
