package io.sluice.dataplane.proxy;

import io.netty.handler.codec.http2.Http2Settings;
import io.sluice.dataplane.config.DataPlaneConfig;

/**
 * The HTTP/2 limits and defences, in one place so that their numbers are documented together (ARCHITECTURE.md,
 * "HTTP/2"). Each attack costs the attacker's connection, never the node: Netty enforces most of these in its codec;
 * Sluice adds the control-frame rate, the zero-window stall and the idle timeout ({@link H2ServerConnection}).
 */
final class H2Limits {
    /** SETTINGS_MAX_CONCURRENT_STREAMS we announce to clients; a stream beyond it is refused (REFUSED_STREAM). */
    static final int MAX_CONCURRENT_STREAMS = 128;
    /** SETTINGS_INITIAL_WINDOW_SIZE: what a client may send on one stream before Sluice has passed it on. */
    static final int STREAM_WINDOW = 256 * 1024;
    /** The connection-level receive window: bounds the request bytes buffered per connection, all streams together. */
    static final int CONNECTION_WINDOW = 1024 * 1024;
    /** SETTINGS_MAX_FRAME_SIZE (the protocol's minimum and default). */
    static final int MAX_FRAME_SIZE = 16_384;
    /** SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table a client may make us keep. */
    static final int HEADER_TABLE_SIZE = 4096;
    /**
     * Rapid Reset (CVE-2023-44487): more than this many RST_STREAM frames from a client within
     * {@link #RST_WINDOW_SECONDS} seconds end its connection with GOAWAY ENHANCE_YOUR_CALM (Netty's decoder).
     */
    static final int MAX_RST_PER_WINDOW = 200;
    static final int RST_WINDOW_SECONDS = 30;
    /** CONTINUATION flood: more small CONTINUATION frames than this in one header block end the connection. */
    static final int MAX_SMALL_CONTINUATION_FRAMES = 16;
    /** Empty DATA frames in a row (a CPU-burning flood that moves no bytes). */
    static final int MAX_CONSECUTIVE_EMPTY_DATA_FRAMES = 2;
    /** Control frames (PING/SETTINGS ACKs, RST) queued for a client that does not read them: beyond, GOAWAY. */
    static final int MAX_QUEUED_CONTROL_FRAMES = 1_000;
    /** PING + SETTINGS frames a client may send per second (gRPC keepalive sends one PING per many seconds). */
    static final int CONTROL_FRAMES_PER_SECOND = 100;
    /** After GOAWAY on shutdown or retirement, how long streams in flight may take before the connection closes. */
    static final long GRACEFUL_SHUTDOWN_MS = 5_000;
    /** Streams one upstream HTTP/2 connection carries when the backend announces no limit. */
    static final int DEFAULT_UPSTREAM_STREAMS = 100;

    private H2Limits() {
    }

    /**
     * The SETTINGS Sluice sends to clients. SETTINGS_MAX_HEADER_LIST_SIZE is the HTTP/1 {@code maxHeaderBytes} limit:
     * an HPACK bomb (a small block that decodes to huge headers) fails the stream at that size and the connection at
     * 1.25 times it, without the decoder keeping more.
     */
    static Http2Settings serverSettings(DataPlaneConfig config) {
        return new Http2Settings()
            .maxConcurrentStreams(MAX_CONCURRENT_STREAMS)
            .initialWindowSize(STREAM_WINDOW)
            .maxFrameSize(MAX_FRAME_SIZE)
            .headerTableSize(HEADER_TABLE_SIZE)
            .maxHeaderListSize(config.limits().maxHeaderBytes());
    }

    /** The SETTINGS Sluice sends to HTTP/2 backends: no push, the same windows. */
    static Http2Settings clientSettings(DataPlaneConfig config) {
        return new Http2Settings()
            .pushEnabled(false)
            .initialWindowSize(STREAM_WINDOW)
            .maxFrameSize(MAX_FRAME_SIZE)
            .headerTableSize(HEADER_TABLE_SIZE)
            .maxHeaderListSize(64 * 1024);
    }
}
