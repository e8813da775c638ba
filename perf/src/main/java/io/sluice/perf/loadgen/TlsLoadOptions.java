package io.sluice.perf.loadgen;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * What one TLS handshake run does; parsed from the command line by {@link #parse(String[])}.
 *
 * @param host          host to connect to (a name or literal address)
 * @param port          TCP port
 * @param path          request target, origin-form
 * @param sni           server name sent in the ClientHello, or null for none
 * @param hostHeader    value of the Host header
 * @param resumed       true: resume sessions (each connection slot offers the ticket its previous connection
 *                      received); false: every handshake is a full one (no session is ever stored or offered)
 * @param tls12         true: TLS 1.2 only; false: TLS 1.3 only
 * @param connections   concurrent connection slots, each one connect-handshake-request-close after another
 * @param threads       event loops (threads) the slots are spread over
 * @param durationNanos length of the measured period
 * @param warmupNanos   length of the unrecorded period before it
 * @param timeoutNanos  a connection that has not finished its exchange after this long is an error
 * @param minResumedShare in resumed mode, the least share of resumed handshakes for a valid run (0..1)
 * @param allowRemote   allow a target that is not a loopback address
 * @param serverPids    processes whose CPU time (utime + stime from /proc) is sampled at the start and end of
 *                      the measured window: the server's, for handshakes per server-CPU-second; may be empty
 * @param clockTicks    the kernel's clock ticks per second (USER_HZ, {@code getconf CLK_TCK}) for /proc times
 */
public record TlsLoadOptions(String host, int port, String path, String sni, String hostHeader, boolean resumed,
                             boolean tls12, int connections, int threads, long durationNanos, long warmupNanos,
                             long timeoutNanos, double minResumedShare, boolean allowRemote, int[] serverPids,
                             int clockTicks) {

    public TlsLoadOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(hostHeader, "hostHeader");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
        if (connections < 1 || connections > 10_000) {
            throw new IllegalArgumentException("connections must be in [1, 10000]: " + connections);
        }
        if (threads < 1 || threads > 256) {
            throw new IllegalArgumentException("threads must be in [1, 256]: " + threads);
        }
        if (durationNanos <= 0 || warmupNanos < 0 || timeoutNanos <= 0) {
            throw new IllegalArgumentException("duration and timeout must be positive, warm-up not negative");
        }
        serverPids = serverPids == null ? new int[0] : serverPids.clone();
        if (clockTicks < 1) {
            throw new IllegalArgumentException("clock ticks per second must be positive: " + clockTicks);
        }
        if (!(minResumedShare >= 0 && minResumedShare <= 1)) {
            throw new IllegalArgumentException("minimum resumed share must be in [0, 1]: " + minResumedShare);
        }
    }

    /** TLS 1.3 or TLS 1.2, as the JDK and Netty name it. */
    public String protocol() {
        return tls12 ? "TLSv1.2" : "TLSv1.3";
    }

    public String mode() {
        return resumed ? "resumed" : "full";
    }

    static final String USAGE = """
        Usage: TlsHandshakeClient [options] https://HOST:PORT/PATH

        Measures how many TLS handshakes per second a server completes. N connection slots each loop:
        connect, TLS handshake, one small HTTP/1.1 GET with "Connection: close", read the response, close,
        and again. Netty epoll + BoringSSL (netty-tcnative). The server's certificate is not verified (a
        load tool), but the client still checks the handshake's signature, so the client pays for the
        signature verification of every full handshake: on one core it can be the bottleneck (see
        perf/README.md, "TLS lab").

              --mode full|resumed   full: no session is ever stored or offered, every handshake is full
                                    (default); resumed: each slot offers the session ticket its previous
                                    connection received (the first handshake of a slot is full); the share
                                    of handshakes the server actually resumed is measured and reported
              --tls12               TLS 1.2 only (default: TLS 1.3 only)
          -c, --connections N       concurrent connection slots (default 32)
          -t, --threads N           event loops the slots are spread over (default 1)
          -d, --duration T          measured period, e.g. 10, 10s, 1500ms (default 10s)
          -w, --warmup T            unrecorded period before it (default 2s); in resumed mode it lasts until
                                    every slot has completed one exchange too (at most max(5 s, T) more)
              --timeout T           a connection not done after this long is an error (default 2s)
              --sni NAME            server name to send (default: the URL's host when it is a name; none
                                    for an address)
              --host-header H       Host header (default: the SNI name, else HOST:PORT)
              --min-resumed P       resumed mode: a run with less than P% resumed handshakes is flagged as
                                    invalid (default 90)
              --server-pids P,P     processes of the server (e.g. nginx's master and worker): their CPU
                                    time in the measured window is reported, and handshakes per
                                    server-CPU-second (the fair figure when the client saturates first)
              --clk-tck N           clock ticks per second of /proc times (default 100: getconf CLK_TCK)
              --allow-remote        allow a target that is not a loopback address
          -h, --help                this text

        The last output line is machine-readable: RESULT key=value ...
        """;

    /** Parses command-line arguments; throws {@link IllegalArgumentException} with a message on bad input. */
    public static TlsLoadOptions parse(String[] args) {
        String url = null;
        boolean resumed = false;
        boolean tls12 = false;
        int connections = 32;
        int threads = 1;
        long duration = TimeUnit.SECONDS.toNanos(10);
        long warmup = TimeUnit.SECONDS.toNanos(2);
        long timeout = TimeUnit.SECONDS.toNanos(2);
        String sni = null;
        boolean sniGiven = false;
        String hostHeader = null;
        double minResumed = 0.9;
        boolean allowRemote = false;
        int[] serverPids = new int[0];
        int clockTicks = 100;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--mode" -> {
                    String m = value(args, ++i, a);
                    switch (m) {
                        case "full" -> resumed = false;
                        case "resumed" -> resumed = true;
                        default -> throw new IllegalArgumentException("--mode must be full or resumed, not " + m);
                    }
                }
                case "--tls12" -> tls12 = true;
                case "--tls13" -> tls12 = false;
                case "-c", "--connections" -> connections = integer(a, value(args, ++i, a));
                case "-t", "--threads" -> threads = integer(a, value(args, ++i, a));
                case "-d", "--duration" -> duration = LoadOptions.parseDuration(value(args, ++i, a));
                case "-w", "--warmup" -> warmup = LoadOptions.parseDuration(value(args, ++i, a));
                case "--timeout" -> timeout = LoadOptions.parseDuration(value(args, ++i, a));
                case "--sni" -> {
                    sni = value(args, ++i, a);
                    sniGiven = true;
                }
                case "--host-header" -> hostHeader = value(args, ++i, a);
                case "--min-resumed" -> minResumed = integer(a, value(args, ++i, a)) / 100.0;
                case "--allow-remote" -> allowRemote = true;
                case "--server-pids" -> serverPids = pids(a, value(args, ++i, a));
                case "--clk-tck" -> clockTicks = integer(a, value(args, ++i, a));
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
        URI uri = URI.create(url);
        if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("only https://HOST[:PORT]/PATH URLs are supported: " + url);
        }
        int port = uri.getPort() < 0 ? 443 : uri.getPort();
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        if (uri.getRawQuery() != null) {
            path = path + "?" + uri.getRawQuery();
        }
        String host = uri.getHost();
        if (!sniGiven) {
            sni = isAddressLiteral(host) ? null : host;
        }
        if (hostHeader == null) {
            hostHeader = sni != null ? sni : (port == 443 ? host : host + ":" + port);
        }
        return new TlsLoadOptions(host, port, path, sni, hostHeader, resumed, tls12, connections, threads, duration,
            warmup, timeout, minResumed, allowRemote, serverPids, clockTicks);
    }

    /** A copy with another target address (e.g. loopback for a name that does not resolve), all else equal. */
    public TlsLoadOptions withHost(String newHost) {
        return new TlsLoadOptions(newHost, port, path, sni, hostHeader, resumed, tls12, connections, threads,
            durationNanos, warmupNanos, timeoutNanos, minResumedShare, allowRemote, serverPids, clockTicks);
    }

    /** A copy that samples the CPU time of {@code pids} as the server's. */
    public TlsLoadOptions withServerPids(int... pids) {
        return new TlsLoadOptions(host, port, path, sni, hostHeader, resumed, tls12, connections, threads,
            durationNanos, warmupNanos, timeoutNanos, minResumedShare, allowRemote, pids, clockTicks);
    }

    @Override
    public int[] serverPids() {
        return serverPids.clone();
    }

    private static int[] pids(String option, String list) {
        String[] parts = list.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = integer(option, parts[i]);
            if (out[i] < 1) {
                throw new IllegalArgumentException(option + ": not a process id: " + parts[i]);
            }
        }
        return out;
    }

    static boolean isAddressLiteral(String host) {
        return host.startsWith("[") || host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
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

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static int integer(String option, String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": not a whole number: " + s);
        }
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s %s handshakes, %d slot(s) on %d thread(s), https://%s:%d%s (SNI %s)",
            mode(), protocol(), connections, threads, host, port, path, sni == null ? "none" : sni);
    }
}
