package io.sluice.dataplane.metrics;

/**
 * Request metrics of one shard: plain {@code long[]} blocks written only by the shard's thread, read at scrape time by
 * the collector on the admin thread.
 *
 * <p>Why no atomics: one writer per array element, so increments cannot be lost; the reader tolerates values a few
 * nanoseconds stale. The JLS does not promise that a plain {@code long} store is atomic (§17.7), but 64-bit HotSpot
 * performs aligned 8-byte stores, so a scrape never sees half a value there; the counters' only consumer is a
 * monitoring scrape, where that caveat is acceptable (documented in docs/METRICS.md). The block is replaced (grown) only
 * when a route table with new series is installed; the new one is published with a volatile write, and the shard
 * writes only to the newest block from then on.
 *
 * <p>Layout per series number {@code s} (see {@link RouteSeries}):
 * <pre>
 *   requests[s * REQ_STRIDE + (protocol * METHODS + method) * STATUS_CLASSES + statusClass]
 *   downstream[s * HIST_STRIDE + bucket], downstream[s * HIST_STRIDE + COUNT] = sum of nanoseconds
 *   upstream  [s * HIST_STRIDE + bucket], upstream  [s * HIST_STRIDE + COUNT] = sum of nanoseconds
 *   bytes[s * 2] = request bytes, bytes[s * 2 + 1] = response bytes
 * </pre>
 */
public final class ShardMetrics {
    /**
     * {@code -Dsluice.metrics=off} skips request metrics (and their clock reads) entirely: only for measuring what
     * metrics cost (the ops lab); a constant, so the JIT removes the disabled branch.
     */
    public static final boolean ENABLED = !"off".equals(System.getProperty("sluice.metrics"));
    public static final String[] PROTOCOLS = {"h1", "h2", "grpc"};
    public static final int H1 = 0;
    public static final int H2 = 1;
    public static final int GRPC = 2;
    /** Method labels by {@code RequestHead.M_*} code (CONNECT and TRACE fall under OTHER). */
    public static final String[] METHODS_BY_CODE = {"OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "OTHER",
        "OTHER", "PATCH"};
    public static final String[] METHOD_LABELS = {"OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    private static final byte[] METHOD_INDEX = {0, 1, 2, 3, 4, 5, 6, 0, 0, 7};
    public static final int METHODS = METHOD_LABELS.length;
    public static final String[] STATUS_LABELS = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    public static final int STATUS_CLASSES = STATUS_LABELS.length;
    public static final int REQ_STRIDE = PROTOCOLS.length * METHODS * STATUS_CLASSES;
    public static final int HIST_STRIDE = LatencyBuckets.COUNT + 1;

    /** TLS versions counted by {@link #tlsHandshake}: index 0 TLSv1.0 ... 3 TLSv1.3, 4 other. */
    public static final String[] TLS_VERSIONS = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "other"};

    /** One generation of arrays; replaced whole when it must grow. */
    public static final class Block {
        public final int series;
        public final long[] requests;
        public final long[] downstream;
        public final long[] upstream;
        public final long[] bytes;

        Block(int series) {
            this.series = series;
            requests = new long[series * REQ_STRIDE];
            downstream = new long[series * HIST_STRIDE];
            upstream = new long[series * HIST_STRIDE];
            bytes = new long[series * 2];
        }

        Block grownTo(int n) {
            Block b = new Block(n);
            System.arraycopy(requests, 0, b.requests, 0, requests.length);
            System.arraycopy(downstream, 0, b.downstream, 0, downstream.length);
            System.arraycopy(upstream, 0, b.upstream, 0, upstream.length);
            System.arraycopy(bytes, 0, b.bytes, 0, bytes.length);
            return b;
        }
    }

    /** The shard's working reference (plain: shard thread only). */
    private Block block = new Block(64);
    /** The same block, published for the collector. */
    private volatile Block published = block;

    /** [version * 2 + resumed]. */
    public final long[] tlsHandshakes = new long[TLS_VERSIONS.length * 2];
    public long tlsHandshakeFailures;

    /** Shard thread, when a table is installed: makes room for series numbers below {@code n}. */
    public void ensureSeries(int n) {
        if (n > block.series) {
            Block b = block.grownTo(Math.max(n, block.series * 2));
            block = b;
            published = b;
        }
    }

    /** For the collector (any thread). */
    public Block block() {
        return published;
    }

    /**
     * Records one finished exchange. Shard thread; no allocation, no lock.
     *
     * @param series        the route's series number ({@link RouteSeries}), {@link RouteSeries#UNMATCHED} for none
     * @param protocol      {@link #H1}, {@link #H2} or {@link #GRPC}
     * @param methodCode    a {@code RequestHead.M_*} code
     * @param status        the status sent to the client
     * @param totalNanos    from the first byte of the request head parsed to the end of the response
     * @param upstreamNanos from the request sent upstream to the response head received, or negative for none
     */
    public void request(int series, int protocol, int methodCode, int status, long totalNanos, long upstreamNanos,
                        long requestBytes, long responseBytes) {
        Block b = block;
        if (series >= b.series) {
            series = RouteSeries.OVERFLOW; // a table installed before ensureSeries ran cannot happen; defensive
        }
        int sc = status >= 100 && status < 600 ? status / 100 : 0;
        int m = methodCode >= 0 && methodCode < METHOD_INDEX.length ? METHOD_INDEX[methodCode] : 0;
        b.requests[series * REQ_STRIDE + (protocol * METHODS + m) * STATUS_CLASSES + sc]++;
        int h = series * HIST_STRIDE;
        b.downstream[h + LatencyBuckets.index(totalNanos)]++;
        b.downstream[h + LatencyBuckets.COUNT] += totalNanos;
        if (upstreamNanos >= 0) {
            b.upstream[h + LatencyBuckets.index(upstreamNanos)]++;
            b.upstream[h + LatencyBuckets.COUNT] += upstreamNanos;
        }
        b.bytes[series * 2] += requestBytes;
        b.bytes[series * 2 + 1] += responseBytes;
    }

    /**
     * A TLS handshake completed on this shard (shard thread). For the TLS handler (issue 4).
     *
     * @param version 0x0301 (TLSv1) ... 0x0304 (TLSv1.3), as on the wire; anything else counts as "other"
     */
    public void tlsHandshake(int version, boolean resumed) {
        int v = version >= 0x0301 && version <= 0x0304 ? version - 0x0301 : 4;
        tlsHandshakes[v * 2 + (resumed ? 1 : 0)]++;
    }

    /** A TLS handshake failed on this shard (shard thread). */
    public void tlsHandshakeFailed() {
        tlsHandshakeFailures++;
    }
}
