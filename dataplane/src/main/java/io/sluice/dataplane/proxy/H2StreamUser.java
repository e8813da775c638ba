package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * What uses a stream of an upstream HTTP/2 connection ({@link H2ClientConnection}, {@link H2UpstreamPool}): an HTTP/2
 * client's stream ({@link H2Exchange}) or an HTTP/1.1 client's request ({@link H1ToH2Exchange}). Shard thread only.
 */
abstract class H2StreamUser {
    /** The upstream connection and stream, once started; null before and after. */
    H2ClientConnection upConn;
    Http2Stream upStream;

    /** The request headers, taken once when the upstream stream starts. */
    abstract Http2Headers takeRequestHeaders();

    /** Whether the request headers end the stream (a request without a body that has fully arrived). */
    abstract boolean headersEndStream();

    abstract void upstreamStarted(H2ClientConnection c, Http2Stream s);

    abstract void waitingIn(H2UpstreamPool pool);

    abstract void upstreamHeaders(Http2Headers headers, boolean endOfStream);

    /** @return the bytes to give back to the backend's window now */
    abstract int upstreamData(ByteBuf data, boolean endOfStream);

    /** The backend reset the stream, its connection went away, or no stream could be had. */
    abstract void upstreamReset(long errorCode, int status);

    /** The backend's window for the stream opened. */
    abstract void upstreamWritable();
}
