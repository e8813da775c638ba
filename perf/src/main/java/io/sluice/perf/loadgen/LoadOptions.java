package io.sluice.perf.loadgen;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * What one constant-rate run does; parsed from the command line by {@link #parse(String[])}.
 *
 * @param host          host to connect to (a name or literal address)
 * @param port          TCP port
 * @param path          request target, origin-form
 * @param hostHeader    value of the Host header
 * @param ratePerSecond total request rate over all connections
 * @param connections   number of keep-alive connections the rate is spread over
 * @param durationNanos length of the measured period
 * @param warmupNanos   length of the unrecorded period at the same rate before it
 * @param timeoutNanos  a request without a complete response after this long is a timeout
 * @param distribution  print HdrHistogram's full percentile distribution too
 * @param allowRemote   allow a target that is not a loopback address
 */
public record LoadOptions(String host, int port, String path, String hostHeader, double ratePerSecond,
                          int connections, long durationNanos, long warmupNanos, long timeoutNanos,
                          boolean distribution, boolean allowRemote) {

    public LoadOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(hostHeader, "hostHeader");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        if (!(ratePerSecond > 0) || ratePerSecond > 10_000_000) {
            throw new IllegalArgumentException("rate must be in (0, 10000000] requests/s: " + ratePerSecond);
        }
        if (connections < 1 || connections > 65_000) {
            throw new IllegalArgumentException("connections must be in [1, 65000]: " + connections);
        }
        if (durationNanos <= 0 || warmupNanos < 0 || timeoutNanos <= 0) {
            throw new IllegalArgumentException("duration and timeout must be positive, warm-up not negative");
        }
    }

    static final String USAGE = """
        Usage: RateGenerator --rate N [options] http://HOST:PORT/PATH

        Sends HTTP/1.1 GET requests at a constant total rate over keep-alive connections and reports
        latency measured from each request's intended send time (coordinated-omission corrected).

          -R, --rate N            total requests per second (required)
          -c, --connections N     keep-alive connections, the rate is spread evenly (default 64)
          -d, --duration T        measured period, e.g. 10, 10s, 1500ms, 1m (default 10s)
          -w, --warmup T          unrecorded period at the same rate before it (default 2s)
              --timeout T         a response later than this is a timeout; the connection is reopened
                                  (default 2s)
              --host-header H     Host header (default HOST:PORT of the URL)
              --distribution      also print the full percentile distribution (microseconds)
              --allow-remote      allow a target that is not a loopback address
          -h, --help              this text

        The last output line is machine-readable: RESULT key=value ...
        """;

    /** Parses command-line arguments; throws {@link IllegalArgumentException} with a message on bad input. */
    public static LoadOptions parse(String[] args) {
        String url = null;
        double rate = -1;
        int connections = 64;
        long duration = TimeUnit.SECONDS.toNanos(10);
        long warmup = TimeUnit.SECONDS.toNanos(2);
        long timeout = TimeUnit.SECONDS.toNanos(2);
        String hostHeader = null;
        boolean distribution = false;
        boolean allowRemote = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-R", "--rate" -> rate = parseDouble(a, value(args, ++i, a));
                case "-c", "--connections" -> connections = (int) parseDouble(a, value(args, ++i, a));
                case "-d", "--duration" -> duration = parseDuration(value(args, ++i, a));
                case "-w", "--warmup" -> warmup = parseDuration(value(args, ++i, a));
                case "--timeout" -> timeout = parseDuration(value(args, ++i, a));
                case "--host-header" -> hostHeader = value(args, ++i, a);
                case "--url" -> url = value(args, ++i, a);
                case "--distribution" -> distribution = true;
                case "--allow-remote" -> allowRemote = true;
                default -> {
                    if (a.startsWith("-")) {
                        throw new IllegalArgumentException("unknown option " + a);
                    }
                    if (url != null) {
                        throw new IllegalArgumentException("more than one URL: " + url + ", " + a);
                    }
                    url = a;
                }
            }
        }
        if (url == null) {
            throw new IllegalArgumentException("no URL given");
        }
        if (rate < 0) {
            throw new IllegalArgumentException("--rate is required");
        }
        URI uri = URI.create(url);
        if (!"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("only http://HOST[:PORT]/PATH URLs are supported: " + url);
        }
        int port = uri.getPort() < 0 ? 80 : uri.getPort();
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        if (uri.getRawQuery() != null) {
            path = path + "?" + uri.getRawQuery();
        }
        if (hostHeader == null) {
            hostHeader = port == 80 ? uri.getHost() : uri.getHost() + ":" + port;
        }
        return new LoadOptions(uri.getHost(), port, path, hostHeader, rate, connections, duration, warmup,
            timeout, distribution, allowRemote);
    }

    /** Resolves the target, refusing anything but loopback unless {@link #allowRemote()}. */
    InetAddress resolve() throws UnknownHostException {
        InetAddress address = InetAddress.getByName(host);
        if (!address.isLoopbackAddress() && !allowRemote) {
            throw new IllegalArgumentException(host + " is not a loopback address; pass --allow-remote to load "
                + "a server on another machine you are responsible for");
        }
        return address;
    }

    /** Parses "10", "10s", "250ms", "1m" (plain numbers are seconds) into nanoseconds. */
    static long parseDuration(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        long unit = TimeUnit.SECONDS.toNanos(1);
        if (t.endsWith("ms")) {
            unit = TimeUnit.MILLISECONDS.toNanos(1);
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("us")) {
            unit = TimeUnit.MICROSECONDS.toNanos(1);
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("s")) {
            t = t.substring(0, t.length() - 1);
        } else if (t.endsWith("m")) {
            unit = TimeUnit.MINUTES.toNanos(1);
            t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t);
            if (v < 0 || Double.isNaN(v) || Double.isInfinite(v)) {
                throw new NumberFormatException();
            }
            return Math.round(v * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a duration: " + s);
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static double parseDouble(String option, String s) {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": not a number: " + s);
        }
    }
}
