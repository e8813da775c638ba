package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.sluice.dataplane.http.ResponseHead;

/**
 * The client side of an exchange that an HTTP/1.1 {@link UpstreamConnection} serves: an HTTP/1.1 client connection
 * ({@link DownstreamConnection}) or one HTTP/2 stream ({@link H2Exchange}). Everything is called on the shard's thread.
 */
interface UpstreamOwner {
    /** The connection this exchange opened is ready ({@code failure == null}) or failed. */
    void connected(UpstreamConnection c, Throwable failure);

    /** A pool hands over a released connection to an exchange that waited; false if it no longer wants one. */
    boolean takeWaitingConnection(UpstreamConnection c);

    /** Bytes arrived from the upstream: push the exchange's read deadline out. */
    void upstreamActivity();

    /** The request asked for a protocol upgrade (a 101 then turns the exchange into a tunnel). */
    boolean upgradeRequested();

    boolean headRequest();

    /**
     * True when the owner wants chunked response bodies decoded: {@link #writeResponseBody} then gets chunk data only
     * (HTTP/2 frames its own data); false: the bytes pass through as received.
     */
    boolean decodesChunks();

    void onResponseHead(ResponseHead r, boolean tunnel);

    void onInterimResponse(ByteBuf head);

    void writeResponseBody(ByteBuf slice);

    void onResponseComplete(boolean upstreamReusable);

    void onUpstreamFailure(int status, boolean mayRetry);

    /** The upstream end of a tunnel (after a 101) closed. */
    void tunnelClosed();

    /** The upstream connection can take more request bytes again. */
    void resumeFromUpstream();

    /** End of an upstream read batch: flush what was written to the client. */
    void flushClient();
}
