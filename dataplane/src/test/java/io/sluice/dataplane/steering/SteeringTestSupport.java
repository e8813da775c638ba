package io.sluice.dataplane.steering;

import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.dataplane.proxy.DataPlane;
import io.sluice.dataplane.proxy.Shard;
import io.sluice.dataplane.shard.CpuAffinity;
import io.sluice.nictuning.CoreMap;
import io.sluice.nictuning.rss.ToeplitzHash;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real sockets on loopback for the steering tests: an origin that records client ports, a client, pinning. */
final class SteeringTestSupport {
    private static final Method ASSERT_NO_LEAKS;

    static {
        // One leak collector for the whole test JVM: the proxy tests' (Netty's detector is created once, from the
        // factory installed first), so it is loaded before any buffer class.
        try {
            Class<?> c = Class.forName("io.sluice.dataplane.proxy.TestSupport");
            ASSERT_NO_LEAKS = c.getDeclaredMethod("assertNoLeaks");
            ASSERT_NO_LEAKS.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private SteeringTestSupport() {
    }

    static void assertNoLeaks() throws Exception {
        try {
            ASSERT_NO_LEAKS.invoke(null);
        } catch (java.lang.reflect.InvocationTargetException e) {
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts a data plane on a free port with one backend at 127.0.0.1:{@code originPort}. */
    static DataPlane start(int originPort, int[] cpus, SteeringMode steering, String coreMap) throws Exception {
        String yaml = """
            listeners: [{address: 127.0.0.1, port: %d}]
            timeouts: {connectMs: 2000, readMs: 5000, idleMs: 5000}
            backends:
              - name: app
                endpoints: ["127.0.0.1:%d"]
            routes:
              - host: app.test
                paths: [{path: /, type: Prefix, backend: app}]
            """.formatted(freePort(), originPort);
        DataPlaneConfig c = ConfigLoader.parse(yaml, 0).withCpus(cpus).withSteering(steering).withCoreMap(coreMap);
        return DataPlane.start(c);
    }

    static int port(DataPlane dp) {
        return dp.config().listeners().get(0).port();
    }

    /** Both CPUs of a 2-CPU test, or the test is skipped by the caller when fewer are usable. */
    static boolean twoCpus() {
        return CpuAffinity.processCpus().length >= 2 && CpuAffinity.processCpus()[0] == 0
            && CpuAffinity.processCpus()[1] == 1;
    }

    /** A core map for shards on CPUs 0 and 1 owning queues 0 and 1, Microsoft's key, a 128-entry table. */
    static CoreMap rssCoreMap() {
        int[] table = new int[128];
        for (int i = 0; i < table.length; i++) {
            table[i] = i % 2;
        }
        return new CoreMap("lo", "test", -1, CoreMap.Steering.RSS, false,
            List.of(new CoreMap.Shard(0, 0, 0), new CoreMap.Shard(1, 1, 1)), ToeplitzHash.microsoftKey(), table);
    }

    static String write(CoreMap map, Path dir) throws IOException {
        Path p = dir.resolve("coremap.json");
        map.write(p);
        return p.toString();
    }

    /** Result of one request: the client's local port and the status line. */
    record Exchange(int clientPort, String statusLine) {
    }

    /** One request on a new connection ({@code Connection: close}); reads the whole response. */
    static Exchange get(int proxyPort) throws IOException {
        try (Socket s = new Socket()) {
            s.setSoTimeout(10_000);
            s.connect(new InetSocketAddress("127.0.0.1", proxyPort), 5_000);
            OutputStream out = s.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            in.transferTo(b);
            String text = b.toString(StandardCharsets.ISO_8859_1);
            int eol = text.indexOf("\r\n");
            return new Exchange(s.getLocalPort(), eol < 0 ? text : text.substring(0, eol));
        }
    }

    /** Runs {@code task} on a new thread pinned to {@code cpu} (so the test's own thread keeps its affinity). */
    static <T> T onCpu(int cpu, Callable<T> task) throws Exception {
        FutureTask<T> f = new FutureTask<>(() -> {
            assertTrue(CpuAffinity.pinCurrentThread(cpu), "cannot pin to CPU " + cpu);
            return task.call();
        });
        Thread t = new Thread(f, "client-on-cpu-" + cpu);
        t.start();
        return f.get(60, TimeUnit.SECONDS);
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) {
                throw new AssertionError("not reached within 10 s: " + what);
            }
            Thread.sleep(5);
        }
    }

    static long accepted(Shard s) {
        SteeringStats st = s.steeringStats;
        return st.acceptedOnReceivingCpu + st.acceptedOffReceivingCpu + st.acceptedCpuUnknown;
    }

    /**
     * An HTTP origin on 127.0.0.1 that answers every request with a 2-byte body and {@code Connection: close}, so each
     * proxied request opens a new upstream connection, and records each connection's client (proxy-side) port.
     */
    static final class RecordingOrigin implements AutoCloseable {
        final ServerSocket server;
        final ConcurrentLinkedQueue<Integer> clientPorts = new ConcurrentLinkedQueue<>();
        private final ExecutorService pool = Executors.newCachedThreadPool();

        RecordingOrigin() throws IOException {
            server = new ServerSocket();
            server.bind(new InetSocketAddress("127.0.0.1", 0));
            pool.submit(this::acceptLoop);
        }

        int port() {
            return server.getLocalPort();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    clientPorts.add(s.getPort());
                    pool.submit(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                int matched = 0;
                int c;
                while (matched < 4 && (c = in.read()) >= 0) {
                    matched = (c == "\r\n\r\n".charAt(matched)) ? matched + 1 : (c == '\r' ? 1 : 0);
                }
                s.getOutputStream().write(
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
            } catch (IOException e) {
                // the test sees the failure through the proxy's answer
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
            pool.shutdownNow();
        }
    }
}
