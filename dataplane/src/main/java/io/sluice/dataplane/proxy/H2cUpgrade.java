package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.AsciiString;
import io.sluice.dataplane.http.Ascii;
import io.sluice.dataplane.http.HeaderId;
import io.sluice.dataplane.http.RequestHead;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * HTTP/1.1 {@code Upgrade: h2c} (RFC 7540 §3.2). RFC 9113 deprecates it, but clients that ingress users run still
 * send it (curl {@code --http2} on http:// URLs, older gRPC and HTTP libraries), so Sluice accepts it for requests
 * without a body: it answers {@code 101 Switching Protocols}, the connection becomes HTTP/2 and the request that asked
 * becomes stream 1. A request with a body, or with a malformed {@code HTTP2-Settings}, is served as HTTP/1.1 (the
 * RFC lets a server ignore the upgrade).
 */
final class H2cUpgrade {
    static final ByteBuf SWITCHING = Unpooled.unreleasableBuffer(Unpooled.directBuffer(80).writeBytes(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
            .getBytes(StandardCharsets.US_ASCII)).asReadOnly());
    private static final byte[] H2C = "h2c".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HTTP2_SETTINGS = "http2-settings".getBytes(StandardCharsets.US_ASCII);
    private static final AsciiString HTTP = AsciiString.cached("http");

    private H2cUpgrade() {
    }

    /** The index of the HTTP2-Settings header when the request asks for h2c and may have it; else -1. */
    static int settingsHeader(RequestHead r, ByteBuf b) {
        if (r.upgradeHeader < 0 || !r.connectionUpgrade || r.hasBody() || r.version != 11) {
            return -1;
        }
        if (!hasToken(b, r.valueStart[r.upgradeHeader], r.valueEnd[r.upgradeHeader], H2C)) {
            return -1;
        }
        int found = -1;
        for (int h = 0; h < r.headerCount; h++) {
            if (r.ids[h] == HeaderId.OTHER && r.nameEnd[h] - r.lineStart[h] == HTTP2_SETTINGS.length
                && Ascii.equalsIgnoreCase(b, r.lineStart[h], HTTP2_SETTINGS.length, HTTP2_SETTINGS)) {
                if (found >= 0) {
                    return -1; // exactly one (RFC 7540 §3.2.1)
                }
                found = h;
            }
        }
        return found;
    }

    private static boolean hasToken(ByteBuf b, int s, int e, byte[] token) {
        int i = s;
        while (i < e) {
            while (i < e && (b.getByte(i) == ' ' || b.getByte(i) == '\t' || b.getByte(i) == ',')) {
                i++;
            }
            int start = i;
            while (i < e && b.getByte(i) != ',' && b.getByte(i) != ' ' && b.getByte(i) != '\t') {
                i++;
            }
            if (i - start == token.length && Ascii.equalsIgnoreCase(b, start, token.length, token)) {
                return true;
            }
        }
        return false;
    }

    /** The HTTP2-Settings value: base64url of a SETTINGS payload. Null when malformed. */
    static Http2Settings settings(RequestHead r, ByteBuf b, int h) {
        byte[] raw;
        try {
            String v = b.toString(r.valueStart[h], r.valueEnd[h] - r.valueStart[h], StandardCharsets.US_ASCII);
            raw = Base64.getUrlDecoder().decode(v.trim());
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (raw.length % 6 != 0) {
            return null;
        }
        Http2Settings s = new Http2Settings();
        try {
            for (int i = 0; i < raw.length; i += 6) {
                char id = (char) (((raw[i] & 0xff) << 8) | (raw[i + 1] & 0xff));
                long value = ((raw[i + 2] & 0xffL) << 24) | ((raw[i + 3] & 0xff) << 16) | ((raw[i + 4] & 0xff) << 8)
                    | (raw[i + 5] & 0xff);
                s.put(id, Long.valueOf(value));
            }
        } catch (IllegalArgumentException e) {
            return null;
        }
        return s;
    }

    /**
     * An HTTP/1.1 request head as HTTP/2 headers: the upgrading request of stream 1, or a request that goes to an HTTP/2
     * backend ({@link H1ToH2Exchange}). Host becomes :authority; connection-specific headers are left out.
     */
    static Http2Headers headers(RequestHead r, ByteBuf b) {
        Http2Headers h = new DefaultHttp2Headers(false, r.headerCount + 4);
        h.method(ascii(b, r.start, r.methodEnd));
        if (r.authorityStart >= 0) {
            h.path(r.pathStart == r.targetEnd ? AsciiString.of("/") : ascii(b, r.pathStart, r.targetEnd));
            h.authority(ascii(b, r.authorityStart, r.authorityEnd));
        } else {
            h.path(ascii(b, r.targetStart, r.targetEnd));
            if (r.hostStart >= 0) {
                h.authority(ascii(b, r.hostStart, r.hostEnd));
            }
        }
        h.scheme(HTTP);
        for (int i = 0; i < r.headerCount; i++) {
            byte id = r.ids[i];
            if (id == HeaderId.HOST || HeaderId.isHopByHop(id) || id == HeaderId.UPGRADE || id == HeaderId.TRANSFER_ENCODING
                || (r.connectionTokenCount > 0 && r.namedByConnection(i))
                || (id == HeaderId.OTHER && r.nameEnd[i] - r.lineStart[i] == HTTP2_SETTINGS.length
                    && Ascii.equalsIgnoreCase(b, r.lineStart[i], HTTP2_SETTINGS.length, HTTP2_SETTINGS))) {
                continue;
            }
            h.add(ascii(b, r.lineStart[i], r.nameEnd[i]).toLowerCase(), ascii(b, r.valueStart[i], r.valueEnd[i]));
        }
        return h;
    }

    private static AsciiString ascii(ByteBuf b, int s, int e) {
        byte[] a = new byte[e - s];
        b.getBytes(s, a);
        return new AsciiString(a, false);
    }
}
