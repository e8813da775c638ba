package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * gRPC-Web (the browser protocol) translated to gRPC for an HTTP/2 backend and back, per stream: the request's
 * {@code application/grpc-web[-text][+proto]} becomes {@code application/grpc[+proto]} with {@code te: trailers};
 * a {@code -text} request body is base64-decoded; the response's trailers become the gRPC-Web trailer frame
 * (flag 0x80, length, {@code name:value\r\n} lines) at the end of the body, and a {@code -text} response body is
 * base64-encoded (3-byte groups carried across DATA frames, padded only at the end). A trailers-only response keeps
 * its status in the headers, which gRPC-Web clients read as it is.
 */
final class GrpcWeb {
    private static final AsciiString GRPC_WEB = AsciiString.cached("application/grpc-web");
    private static final AsciiString GRPC_WEB_TEXT = AsciiString.cached("application/grpc-web-text");
    private static final byte[] B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] UNB64 = new byte[256];

    static {
        java.util.Arrays.fill(UNB64, (byte) -1);
        for (int i = 0; i < 64; i++) {
            UNB64[B64[i]] = (byte) i;
        }
    }

    final boolean text;
    /** The content-type suffix after grpc-web[-text], e.g. "+proto" (kept for both directions). */
    private final String suffix;
    private final byte[] inCarry = new byte[4];
    private int inCarried;
    private final byte[] outCarry = new byte[3];
    private int outCarried;

    private GrpcWeb(boolean text, String suffix) {
        this.text = text;
        this.suffix = suffix;
    }

    /** A translator when {@code contentType} is gRPC-Web, else null. */
    static GrpcWeb of(CharSequence contentType) {
        if (contentType == null || !AsciiString.regionMatches(contentType, true, 0, GRPC_WEB, 0, GRPC_WEB.length())) {
            return null;
        }
        boolean text = AsciiString.regionMatches(contentType, true, 0, GRPC_WEB_TEXT, 0, GRPC_WEB_TEXT.length());
        String rest = contentType.subSequence(text ? GRPC_WEB_TEXT.length() : GRPC_WEB.length(), contentType.length())
            .toString();
        return new GrpcWeb(text, rest);
    }

    void requestHeaders(Http2Headers h) {
        h.set(H2Exchange.CONTENT_TYPE, "application/grpc" + suffix);
        h.set(H2Exchange.TE, "trailers");
        h.remove(H2Exchange.CONTENT_LENGTH); // -text bodies shrink when decoded
    }

    /** The request body as the backend gets it (takes ownership of {@code data}). */
    ByteBuf requestData(ByteBufAllocator alloc, ByteBuf data) {
        if (!text) {
            return data;
        }
        ByteBuf out = alloc.buffer((data.readableBytes() + inCarried) / 4 * 3 + 3);
        for (int i = data.readerIndex(); i < data.writerIndex(); i++) {
            byte c = data.getByte(i);
            if (c == '\r' || c == '\n' || c == ' ') {
                continue;
            }
            inCarry[inCarried++] = c;
            if (inCarried == 4) {
                inCarried = 0;
                decodeGroup(out);
            }
        }
        data.release();
        return out;
    }

    private void decodeGroup(ByteBuf out) {
        int a = UNB64[inCarry[0] & 0xff];
        int b = UNB64[inCarry[1] & 0xff];
        int c = inCarry[2] == '=' ? 0 : UNB64[inCarry[2] & 0xff];
        int d = inCarry[3] == '=' ? 0 : UNB64[inCarry[3] & 0xff];
        if (a < 0 || b < 0 || c < 0 || d < 0) {
            return; // not base64: dropped (the backend then sees a short message and answers with an error)
        }
        int v = a << 18 | b << 12 | c << 6 | d;
        out.writeByte(v >> 16);
        if (inCarry[2] != '=') {
            out.writeByte(v >> 8);
        }
        if (inCarry[3] != '=') {
            out.writeByte(v);
        }
    }

    void responseHeaders(Http2Headers h) {
        CharSequence ct = h.get(H2Exchange.CONTENT_TYPE);
        String rest = ct != null && ct.length() > 16 ? ct.subSequence(16, ct.length()).toString() : suffix;
        h.set(H2Exchange.CONTENT_TYPE, (text ? "application/grpc-web-text" : "application/grpc-web") + rest);
    }

    /** Response DATA as the browser gets it (takes ownership of {@code data}). */
    ByteBuf responseData(ByteBufAllocator alloc, ByteBuf data, boolean last) {
        if (!text) {
            return data;
        }
        ByteBuf out = alloc.buffer((data.readableBytes() + outCarried + 2) / 3 * 4 + 4);
        for (int i = data.readerIndex(); i < data.writerIndex(); i++) {
            outCarry[outCarried++] = data.getByte(i);
            if (outCarried == 3) {
                encodeGroup(out, 3);
                outCarried = 0;
            }
        }
        data.release();
        if (last && outCarried > 0) {
            encodeGroup(out, outCarried);
            outCarried = 0;
        }
        return out;
    }

    private void encodeGroup(ByteBuf out, int n) {
        int v = (outCarry[0] & 0xff) << 16 | (n > 1 ? (outCarry[1] & 0xff) << 8 : 0) | (n > 2 ? outCarry[2] & 0xff : 0);
        out.writeByte(B64[v >> 18 & 63]);
        out.writeByte(B64[v >> 12 & 63]);
        out.writeByte(n > 1 ? B64[v >> 6 & 63] : '=');
        out.writeByte(n > 2 ? B64[v & 63] : '=');
    }

    /** The gRPC-Web trailer frame for the backend's trailers. */
    static ByteBuf trailerFrame(ByteBufAllocator alloc, Http2Headers trailers) {
        ByteBuf b = alloc.buffer(128);
        b.writeByte(0x80).writeInt(0);
        for (Map.Entry<CharSequence, CharSequence> e : trailers) {
            H2ToH1.writeAscii(b, e.getKey());
            b.writeByte(':');
            H2ToH1.writeAscii(b, e.getValue());
            b.writeShort(0x0d0a);
        }
        b.setInt(1, b.readableBytes() - 5);
        return b;
    }
}
