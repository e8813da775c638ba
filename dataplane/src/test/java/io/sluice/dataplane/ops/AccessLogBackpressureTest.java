package io.sluice.dataplane.ops;

import io.sluice.dataplane.config.OpsConfig;
import io.sluice.dataplane.metrics.LatencyBuckets;
import io.sluice.dataplane.metrics.RouteSeries;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A log destination that stops reading (a stalled disk) makes the shard drop records, never wait. */
class AccessLogBackpressureTest {
    @TempDir
    Path dir;

    @Test
    void aStalledWriterDropsRecordsInsteadOfBlockingTheShard() throws Exception {
        Path fifo = dir.resolve("stalled");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        // A reader that opens the pipe and then never reads: the writer fills the pipe (64 KiB) and blocks in write().
        CompletableFuture<InputStream> reader = CompletableFuture.supplyAsync(() -> {
            try {
                return new FileInputStream(fifo.toFile());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        AccessLog log = AccessLog.open(new OpsConfig.AccessLog(fifo.toString(), OpsConfig.LogFormat.JSON, 1.0), 1);
        try (InputStream ignored = reader.get(10, TimeUnit.SECONDS)) {
            AccessLog.Ring ring = log.ring(0);
            AccessLogRecord scratch = new AccessLogRecord();
            scratch.client = new byte[] {'1'};
            int n = 200_000;
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                ring.publish(scratch, 0, 200, 10, 20, 1_000, 500, "10.0.0.1:80", "web");
            }
            long micros = (System.nanoTime() - start) / 1_000;
            assertEquals(n, ring.published + ring.dropped);
            assertTrue(ring.dropped > n / 2, "most records dropped: " + ring.dropped);
            assertTrue(micros < 2_000_000, "the producer never waited: " + micros + " µs for " + n + " records");
        } finally {
            new ProcessBuilder("sh", "-c", "cat " + fifo + " > /dev/null &").start(); // unblock the writer to close
            log.close();
        }
    }

    @Test
    void bucketsAndRouteLabels() {
        assertEquals(0, LatencyBuckets.index(0));
        assertEquals(0, LatencyBuckets.index(16_384));
        assertEquals(1, LatencyBuckets.index(16_385));
        assertEquals(1, LatencyBuckets.index(32_768));
        assertEquals(2, LatencyBuckets.index(32_769));
        assertEquals(LatencyBuckets.FINITE, LatencyBuckets.index(Long.MAX_VALUE));
        for (int i = 0; i < LatencyBuckets.FINITE; i++) {
            long upper = (long) (LatencyBuckets.upperSeconds(i) * 1e9 + 0.5);
            assertEquals(i, LatencyBuckets.index(upper), "upper bound of bucket " + i + " belongs to it");
            assertEquals(i + 1, LatencyBuckets.index(upper + 1));
        }
        RouteSeries.Labels l = RouteSeries.labels("shop.example.com", "Prefix /api", "shop/api:80", "ingress shop/web");
        assertEquals("shop", l.namespace());
        assertEquals("web", l.ingress());
        assertEquals(RouteSeries.number(l), RouteSeries.number(
            RouteSeries.labels("shop.example.com", "Prefix /api", "shop/api:80", "ingress shop/web")));
        assertEquals("", RouteSeries.labels("h", "Exact /", "b", "config routes[0].paths[0]").ingress());
    }
}
