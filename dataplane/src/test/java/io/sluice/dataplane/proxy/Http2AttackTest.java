package io.sluice.dataplane.proxy;

import io.sluice.dataplane.demo.DemoBackends;
import io.sluice.dataplane.proxy.TestSupport.Running;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each HTTP/2 flood pattern replayed with raw frames against a one-shard proxy, while a well-behaved client keeps
 * making requests through the same shard: the attacking connection gets GOAWAY (or is closed), the other client gets
 * every response.
 */
@Timeout(120)
class Http2AttackTest {
    private static final long ENHANCE_YOUR_CALM = 0xb;
    private static DemoBackends origins;
    private static Running proxy;

    @BeforeAll
    static void start() throws Exception {
        int originPort = TestSupport.freePort();
        origins = DemoBackends.start(Map.of("origin", originPort));
        proxy = TestSupport.proxy("""
            listeners: [{port: PORT}]
            timeouts: {connectMs: 1000, readMs: 3000, idleMs: 5000}
            backends:
              - name: app
                endpoints: ["127.0.0.1:%d"]
            routes:
              - host: app.test
                paths: [{path: /, type: Prefix, backend: app}]
            """.formatted(originPort), 1);
    }

    @AfterAll
    static void stop() throws InterruptedException {
        proxy.close();
        origins.close();
        TestSupport.assertNoLeaks();
    }

    interface Attack {
        /** @return true when the server ended the attacker's connection (GOAWAY and/or close) */
        boolean run(H2Frames attacker) throws Exception;
    }

    /** Runs {@code attack} while a normal HTTP/2 client requests through the same (only) shard. */
    private static void underAttack(Attack attack, byte[] attackerSettings) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger bad = new AtomicInteger();
        java.util.List<Object> badStatuses = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread normal = new Thread(() -> {
            try (H2Frames c = new H2Frames(proxy.port())) {
                int sid = 1;
                while (!stop.get()) {
                    c.get(sid, "app.test", "/ok");
                    c.flush();
                    int st = c.awaitStatus(sid);
                    if (st == 200) {
                        ok.incrementAndGet();
                    } else {
                        bad.incrementAndGet();
                        badStatuses.add(st);
                    }
                    sid += 2;
                }
            } catch (Exception e) {
                bad.incrementAndGet();
                badStatuses.add(e);
            }
        });
        normal.start();
        boolean ended;
        try (H2Frames attacker = new H2Frames(proxy.port(), attackerSettings)) {
            ended = attack.run(attacker);
        }
        Thread.sleep(200);
        stop.set(true);
        normal.join(10_000);
        assertTrue(ended, "the attacking connection was ended");
        assertEquals(0, bad.get(), "the normal client's requests all succeeded: " + badStatuses);
        assertTrue(ok.get() > 0, "the normal client was served during the attack");
        try (H2Frames after = new H2Frames(proxy.port())) {
            after.get(1, "app.test", "/after");
            after.flush();
            assertEquals(200, after.awaitStatus(1));
        }
    }

    /** Writes, ignoring a reset by the server (the point of the attack's end), then looks for GOAWAY or a close. */
    private static boolean endedWith(H2Frames a, long expectedError) throws IOException {
        H2Frames.Frame g = a.awaitGoAway();
        if (g != null) {
            assertEquals(expectedError, g.goAwayError(), "GOAWAY error code");
            return true;
        }
        return a.closedByServer();
    }

    @Test
    void rapidReset() throws Exception {
        underAttack(a -> {
            try {
                int sid = 1;
                for (int i = 0; i < 2000; i++) {
                    a.get(sid, "app.test", "/rr");
                    a.frame(H2Frames.RST_STREAM, 0, sid, new byte[] {0, 0, 0, 8}); // CANCEL
                    sid += 2;
                    if (i % 50 == 0) {
                        a.flush();
                    }
                }
                a.flush();
            } catch (IOException e) {
                return true; // the server closed the connection under us
            }
            return endedWith(a, ENHANCE_YOUR_CALM);
        }, new byte[0]);
    }

    @Test
    void continuationFlood() throws Exception {
        underAttack(a -> {
            try {
                byte[] block = H2Frames.getBlock("app.test", "/cont");
                a.frame(H2Frames.HEADERS, H2Frames.END_STREAM, 1, java.util.Arrays.copyOf(block, 3));
                for (int i = 0; i < 100_000; i++) {
                    a.frame(H2Frames.CONTINUATION, 0, 1, new byte[0]);
                    if (i % 1000 == 0) {
                        a.flush();
                    }
                }
                a.flush();
            } catch (IOException e) {
                return true;
            }
            H2Frames.Frame g = a.awaitGoAway();
            return g != null || a.closedByServer();
        }, new byte[0]);
    }

    @Test
    void hpackBomb() throws Exception {
        underAttack(a -> {
            // One 4000-byte header put in the dynamic table, then referenced by one byte each, 2000 times: ~8 MB
            // of headers from a 6 KB block.
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            b.writeBytes(H2Frames.getBlock("app.test", "/bomb"));
            b.write(0x40); // literal with incremental indexing, new name
            H2Frames.writeLength(b, 6);
            b.writeBytes("x-bomb".getBytes());
            H2Frames.writeLength(b, 4000);
            b.writeBytes(new byte[4000]);
            for (int i = 0; i < 2000; i++) {
                b.write(0xbe); // indexed: dynamic entry 62, the one just added
            }
            try {
                a.frame(H2Frames.HEADERS, H2Frames.END_STREAM | H2Frames.END_HEADERS, 1, java.util.Arrays.copyOf(
                    b.toByteArray(), 16_384));
                a.flush();
            } catch (IOException e) {
                return true;
            }
            int status = a.awaitStatus(1);
            assertNotEquals(200, status, "the bomb was not served");
            return true; // refused: 431 on the stream, or RST/GOAWAY (Netty decides by how far over the limit)
        }, new byte[0]);
    }

    @Test
    void pingFlood() throws Exception {
        controlFrameFlood(H2Frames.PING, new byte[8]);
    }

    @Test
    void settingsFlood() throws Exception {
        controlFrameFlood(H2Frames.SETTINGS, new byte[0]);
    }

    /** 20,000 control frames of {@code type} on stream 0: the attacker gets GOAWAY ENHANCE_YOUR_CALM (or a reset). */
    private void controlFrameFlood(int type, byte[] payload) throws Exception {
        underAttack(a -> {
            try {
                for (int i = 0; i < 20_000; i++) {
                    a.frame(type, 0, 0, payload);
                    if (i % 100 == 0) {
                        a.flush();
                    }
                }
                a.flush();
            } catch (IOException e) {
                return true;
            }
            return endedWith(a, ENHANCE_YOUR_CALM);
        }, new byte[0]);
    }

    @Test
    void zeroWindowStall() throws Exception {
        underAttack(a -> {
            a.get(1, "app.test", "/stall"); // with an initial window of 0, no byte of the body can be sent
            a.flush();
            long t0 = System.nanoTime();
            a.socket.setSoTimeout(10_000);
            H2Frames.Frame g = a.awaitGoAway();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(g != null, "GOAWAY after the stall");
            assertEquals(ENHANCE_YOUR_CALM, g.goAwayError());
            assertTrue(ms >= 2900, "not before the read timeout (3 s here): " + ms);
            return true;
        }, H2Frames.setting(4, 0));
    }

    @Test
    void concurrentStreamsBeyondTheLimitAreRefused() throws Exception {
        underAttack(a -> {
            // 200 requests that stay open (no END_STREAM: a body would follow); 128 is the limit
            for (int sid = 1; sid < 400; sid += 2) {
                a.frame(H2Frames.HEADERS, H2Frames.END_HEADERS, sid, H2Frames.getBlock("app.test", "/open"));
            }
            a.flush();
            int refused = 0;
            H2Frames.Frame f;
            a.socket.setSoTimeout(2000);
            while ((f = a.read()) != null) {
                if (f.type() == H2Frames.RST_STREAM && f.payload()[3] == 7) {
                    refused++;
                }
            }
            assertTrue(refused >= 72, "streams over the limit refused: " + refused);
            return true;
        }, new byte[0]);
    }
}
