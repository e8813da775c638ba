package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.sluice.dataplane.http.HeaderId;
import io.sluice.dataplane.http.ResponseHead;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Translation between an HTTP/2 stream and HTTP/1.1 (RFC 9113 §8.2, RFC 9110 §7.6.1): {@code :authority} becomes
 * {@code Host}, pseudo-headers become the request line, connection-specific headers are dropped both ways
 * ({@code Connection}, {@code Keep-Alive}, {@code Proxy-Connection}, {@code Transfer-Encoding}, {@code Upgrade},
 * {@code TE} except {@code trailers}, and every header the response's {@code Connection} names), a body without
 * {@code content-length} goes chunked, and request trailers become chunked trailers. HTTP/1.1 header names are
 * lower-cased for HTTP/2.
 */
final class H2ToH1 {
    static final ByteBuf CRLF = Unpooled.unreleasableBuffer(
        Unpooled.directBuffer(2).writeShort(0x0d0a).asReadOnly());
    static final ByteBuf LAST_CHUNK = Unpooled.unreleasableBuffer(
        Unpooled.directBuffer(5).writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)).asReadOnly());
    static final byte[] ZERO_CHUNK_LINE = "0\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HTTP11 = " HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HOST = "Host: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHUNKED = "Transfer-Encoding: chunked\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] XFF = "X-Forwarded-For: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] XFPROTO_HTTP = "X-Forwarded-Proto: http\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] XFPROTO_HTTPS = "X-Forwarded-Proto: https\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] XFHOST = "X-Forwarded-Host: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] XFPORT = "X-Forwarded-Port: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] VIA_END = "Via: 2 sluice\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final AsciiString TRAILERS = AsciiString.cached("trailers");

    private H2ToH1() {
    }

    /** The HTTP/1.1 request head for an HTTP/2 request. */
    static ByteBuf requestHead(ByteBufAllocator alloc, Http2Headers h, CharSequence authority, H2ServerConnection conn,
                               boolean endOfStream, ShardEndpoint ep) {
        ByteBuf out = alloc.directBuffer(512);
        writeAscii(out, h.method());
        out.writeByte(' ');
        writeAscii(out, h.path());
        out.writeBytes(HTTP11);
        out.writeBytes(HOST);
        if (authority != null) {
            writeAscii(out, authority);
        } else {
            out.writeBytes(ep.spec.hostHeaderValue);
        }
        out.writeShort(0x0d0a);
        boolean trust = conn.shard.config.trustForwarded();
        boolean hadProto = false;
        boolean hadHost = false;
        boolean hadPort = false;
        CharSequence priorXff = null;
        boolean hasLength = false;
        for (Map.Entry<CharSequence, CharSequence> e : h) {
            CharSequence name = e.getKey();
            if (name.length() == 0 || name.charAt(0) == ':') {
                continue;
            }
            byte id = identify(name);
            switch (id) {
                case HeaderId.HOST, HeaderId.CONNECTION, HeaderId.KEEP_ALIVE, HeaderId.PROXY_CONNECTION,
                     HeaderId.TRANSFER_ENCODING, HeaderId.UPGRADE -> {
                    continue;
                }
                case HeaderId.TE -> {
                    if (!AsciiString.contentEqualsIgnoreCase(e.getValue(), TRAILERS)) {
                        continue;
                    }
                }
                case HeaderId.CONTENT_LENGTH -> hasLength = true;
                case HeaderId.X_FORWARDED_FOR -> {
                    if (trust) {
                        priorXff = e.getValue();
                    }
                    continue;
                }
                case HeaderId.X_FORWARDED_PROTO -> {
                    hadProto = true;
                    if (!trust) {
                        continue;
                    }
                }
                case HeaderId.X_FORWARDED_HOST -> {
                    hadHost = true;
                    if (!trust) {
                        continue;
                    }
                }
                case HeaderId.X_FORWARDED_PORT -> {
                    hadPort = true;
                    if (!trust) {
                        continue;
                    }
                }
                default -> {
                }
            }
            writeAscii(out, name);
            out.writeShort(0x3a20);
            writeAscii(out, e.getValue());
            out.writeShort(0x0d0a);
        }
        if (!endOfStream && !hasLength) {
            out.writeBytes(CHUNKED);
        }
        out.writeBytes(XFF);
        if (priorXff != null) {
            writeAscii(out, priorXff);
            out.writeByte(',').writeByte(' ');
        }
        writeAscii(out, conn.clientIp);
        out.writeShort(0x0d0a);
        if (!(trust && hadProto)) {
            out.writeBytes(conn.secure ? XFPROTO_HTTPS : XFPROTO_HTTP);
        }
        if (!(trust && hadHost) && authority != null) {
            out.writeBytes(XFHOST);
            writeAscii(out, authority);
            out.writeShort(0x0d0a);
        }
        if (!(trust && hadPort)) {
            out.writeBytes(XFPORT);
            writeAscii(out, conn.listenerPort);
            out.writeShort(0x0d0a);
        }
        out.writeBytes(VIA_END);
        return out;
    }

    /** HTTP/2 response headers for an HTTP/1.1 response head (names lower-cased, connection-specific ones dropped). */
    static Http2Headers responseHeaders(ResponseHead r) {
        Http2Headers h = new DefaultHttp2Headers(false, r.headerCount + 2);
        h.status(HttpResponseStatus.valueOf(r.status).codeAsText());
        ByteBuf b = r.buf;
        for (int i = 0; i < r.headerCount; i++) {
            byte id = r.ids[i];
            if (HeaderId.isHopByHop(id) || id == HeaderId.TRANSFER_ENCODING
                || (r.connectionTokenCount > 0 && r.namedByConnection(i))) {
                continue;
            }
            h.add(lowerName(b, r.lineStart[i], r.nameEnd[i]), value(b, r.valueStart[i], r.valueEnd[i]));
        }
        h.add(H2Exchange.VIA, H2Exchange.VIA_2);
        return h;
    }

    private static AsciiString lowerName(ByteBuf b, int s, int e) {
        byte[] a = new byte[e - s];
        for (int i = 0; i < a.length; i++) {
            byte c = b.getByte(s + i);
            a[i] = c >= 'A' && c <= 'Z' ? (byte) (c + 32) : c;
        }
        return new AsciiString(a, false);
    }

    private static AsciiString value(ByteBuf b, int s, int e) {
        byte[] a = new byte[e - s];
        b.getBytes(s, a);
        return new AsciiString(a, false);
    }

    /** HTTP/2 header names are lower case (the codec rejects others), so a plain comparison identifies them. */
    private static final AsciiString[] SPECIAL = {
        AsciiString.cached("host"), AsciiString.cached("content-length"), AsciiString.cached("transfer-encoding"),
        AsciiString.cached("connection"), AsciiString.cached("keep-alive"), AsciiString.cached("proxy-connection"),
        AsciiString.cached("te"), AsciiString.cached("upgrade"), AsciiString.cached("x-forwarded-for"),
        AsciiString.cached("x-forwarded-proto"), AsciiString.cached("x-forwarded-host"),
        AsciiString.cached("x-forwarded-port")};
    private static final byte[] SPECIAL_IDS = {
        HeaderId.HOST, HeaderId.CONTENT_LENGTH, HeaderId.TRANSFER_ENCODING, HeaderId.CONNECTION, HeaderId.KEEP_ALIVE,
        HeaderId.PROXY_CONNECTION, HeaderId.TE, HeaderId.UPGRADE, HeaderId.X_FORWARDED_FOR,
        HeaderId.X_FORWARDED_PROTO, HeaderId.X_FORWARDED_HOST, HeaderId.X_FORWARDED_PORT};

    private static byte identify(CharSequence name) {
        int n = name.length();
        for (int i = 0; i < SPECIAL.length; i++) {
            if (SPECIAL[i].length() == n && SPECIAL[i].contentEquals(name)) {
                return SPECIAL_IDS[i];
            }
        }
        return HeaderId.OTHER;
    }

    static void writeAscii(ByteBuf out, CharSequence s) {
        if (s instanceof AsciiString a) {
            out.writeBytes(a.array(), a.arrayOffset(), a.length());
        } else {
            out.writeCharSequence(s, StandardCharsets.US_ASCII);
        }
    }
}
