package io.sluice.perf.loadgen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Runs the generator for about a second against small loopback servers; checks counts, not speed. */
class ConstantRateClientTest {

    private static LoadOptions options(int port, double rate, int connections, long durationMs, long warmupMs,
                                       long timeoutMs) {
        return new LoadOptions("127.0.0.1", port, "/", "127.0.0.1:" + port, rate, connections,
            TimeUnit.MILLISECONDS.toNanos(durationMs), TimeUnit.MILLISECONDS.toNanos(warmupMs),
            TimeUnit.MILLISECONDS.toNanos(timeoutMs), false, false);
    }

    @Test
    void sendsTheScheduledNumberOfRequestsAndCountsStatuses() throws Exception {
        AtomicInteger served = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/", exchange -> {
            // every fifth request fails, so that non-2xx counting is checked too
            int status = served.incrementAndGet() % 5 == 0 ? 503 : 200;
            byte[] body = "hello, world\n".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        try {
            LoadResult r = new ConstantRateClient(options(server.getAddress().getPort(), 1000, 8, 1000, 200, 2000)).run();
            long completed = r.ok() + r.non2xx();
            // 1000 req/s for 1 s: the schedule holds 1000 requests; allow for the edges of the window.
            assertTrue(completed >= 990 && completed <= 1000, "completed " + completed);
            assertTrue(r.non2xx() > 150 && r.non2xx() < 250, "non-2xx " + r.non2xx());
            assertEquals(0, r.socketErrors());
            assertEquals(0, r.timeouts());
            assertEquals(completed, r.latency().getTotalCount());
            assertTrue(r.machineLine().startsWith("RESULT generator=sluice-loadgen target_rate=1000.0 "));
        } finally {
            server.stop(0);
            ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
        }
    }

    @Test
    void aServerThatNeverAnswersYieldsTimeoutsAndUnsentRequests() throws Exception {
        // Accepts and reads, never answers: each connection carries one request per timeout, and the
        // requests that fall due meanwhile are never sent. Both must show; none may be silently dropped.
        ServerSocket silent = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        List<Socket> accepted = new ArrayList<>();
        Thread acceptor = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Socket s = silent.accept();
                    synchronized (accepted) {
                        accepted.add(s);
                    }
                }
            } catch (IOException closed) {
                // the test is over
            }
        });
        try {
            LoadResult r = new ConstantRateClient(options(silent.getLocalPort(), 200, 2, 600, 0, 150)).run();
            assertEquals(0, r.ok() + r.non2xx());
            assertTrue(r.timeouts() >= 4, "timeouts " + r.timeouts());
            assertTrue(r.timeouts() + r.unsent() >= 110, "timeouts " + r.timeouts() + " unsent " + r.unsent());
        } finally {
            silent.close();
            acceptor.join(1000);
            synchronized (accepted) {
                for (Socket s : accepted) {
                    s.close();
                }
            }
        }
    }

    @Test
    void aRefusedPortIsReportedAsUnreachable() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        int closedPort = port;
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
            () -> new ConstantRateClient(options(closedPort, 100, 2, 200, 0, 200)).run());
        assertTrue(e.getMessage().contains("could not connect"), e.getMessage());
    }
}
