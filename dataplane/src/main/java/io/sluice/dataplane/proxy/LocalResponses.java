package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.dataplane.http.HttpStatus;

import java.nio.charset.StandardCharsets;

/**
 * Responses the proxy answers itself, built once as read-only direct buffers; sending one writes a duplicate (no
 * copy). Each status exists in a keep-alive and a closing variant.
 */
final class LocalResponses {
    private static final ByteBuf[] KEEP = new ByteBuf[600];
    private static final ByteBuf[] CLOSE = new ByteBuf[600];

    static {
        int[] codes = {HttpStatus.BAD_REQUEST, 404, 405, 408, 413, 414, 431, 501, 502, 503, 504, 505};
        for (int code : codes) {
            KEEP[code] = build(code, false);
            CLOSE[code] = build(code, true);
        }
    }

    private static final ByteBuf OVERLOADED_KEEP = build(503, false,
        "503 Service Unavailable: upstream limits reached (circuit breaker open) (sluice)\n");
    private static final ByteBuf OVERLOADED_CLOSE = build(503, true,
        "503 Service Unavailable: upstream limits reached (circuit breaker open) (sluice)\n");

    private LocalResponses() {
    }

    /** 503 for a backend whose connection, pending or request limits are reached (circuit breaking). */
    static ByteBuf overloaded(boolean close) {
        return (close ? OVERLOADED_CLOSE : OVERLOADED_KEEP).duplicate();
    }

    static ByteBuf get(int status, boolean close) {
        ByteBuf b = (close ? CLOSE : KEEP)[status];
        return b.duplicate();
    }

    static String reason(int code) {
        return switch (code) {
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 413 -> "Content Too Large";
            case 414 -> "URI Too Long";
            case 431 -> "Request Header Fields Too Large";
            case 501 -> "Not Implemented";
            case 502 -> "Bad Gateway";
            case 503 -> "Service Unavailable";
            case 504 -> "Gateway Timeout";
            case 505 -> "HTTP Version Not Supported";
            default -> "Error";
        };
    }

    private static ByteBuf build(int code, boolean close) {
        return build(code, close, code + " " + reason(code) + " (sluice)\n");
    }

    private static ByteBuf build(int code, boolean close, String body) {
        String head = "HTTP/1.1 " + code + " " + reason(code) + "\r\n"
            + "Content-Type: text/plain\r\n"
            + "Content-Length: " + body.length() + "\r\n"
            + (close ? "Connection: close\r\n" : "")
            + "\r\n";
        byte[] bytes = (head + body).getBytes(StandardCharsets.US_ASCII);
        ByteBuf b = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
        return Unpooled.unreleasableBuffer(b.asReadOnly());
    }
}
