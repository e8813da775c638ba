package io.sluice.dataplane.ops;

import io.sluice.dataplane.config.OpsConfig;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Formats access-log records straight into the writer's buffer: constants as prebuilt bytes, numbers digit by digit,
 * the timestamp's date and time text built once per second. The writer thread formats thousands of records per
 * millisecond this way without creating strings per record (it shares a core with a shard in small deployments).
 */
final class AccessLogFormatter {
    /** The most one record can take: every byte of target and host escaped as a JSON unicode escape, plus the rest. */
    static final int MAX_RECORD = (AccessLogRecord.MAX_TARGET + AccessLogRecord.MAX_HOST + AccessLogRecord.MAX_METHOD
        + 64) * 6 + 1024;

    private static final DateTimeFormatter ISO_SECOND = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss",
        Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter CLF_SECOND = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss",
        Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final byte[] J_TIME = b("{\"time\":\"");
    private static final byte[] J_SHARD = b("Z\",\"shard\":");
    private static final byte[] J_CLIENT = b(",\"client\":\"");
    private static final byte[] J_METHOD = b("\",\"method\":\"");
    private static final byte[] J_HOST = b("\",\"host\":\"");
    private static final byte[] J_PATH = b("\",\"path\":\"");
    private static final byte[] J_PROTO_10 = b("\",\"protocol\":\"HTTP/1.0\",\"status\":");
    private static final byte[] J_PROTO_11 = b("\",\"protocol\":\"HTTP/1.1\",\"status\":");
    private static final byte[] J_REQ_BYTES = b(",\"request_bytes\":");
    private static final byte[] J_RESP_BYTES = b(",\"response_bytes\":");
    private static final byte[] J_DURATION = b(",\"duration_ms\":");
    private static final byte[] J_UPSTREAM = b(",\"upstream\":");
    private static final byte[] J_UPSTREAM_MS = b(",\"upstream_ms\":");
    private static final byte[] J_SERVICE = b(",\"service\":");
    private static final byte[] J_END = b("}\n");
    private static final byte[] NULL = b("null");
    private static final byte[] C_DASHES = b(" - - [");
    private static final byte[] C_TZ = b(" +0000] \"");
    private static final byte[] C_HTTP_10 = b(" HTTP/1.0\" ");
    private static final byte[] C_HTTP_11 = b(" HTTP/1.1\" ");
    private static final byte[] C_REF_UA = b(" \"-\" \"-\" host=\"");
    private static final byte[] C_RT = b("\" rt=");
    private static final byte[] C_URT = b(" urt=");
    private static final byte[] C_UPSTREAM = b(" upstream=");
    private static final byte[] C_SHARD = b(" shard=");
    private static final byte[] HEX = b("0123456789abcdef");

    private final boolean json;
    private long cachedSecond = Long.MIN_VALUE;
    private byte[] secondText;

    AccessLogFormatter(OpsConfig.LogFormat format) {
        this.json = format == OpsConfig.LogFormat.JSON;
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Appends one line; {@code out} must have {@link #MAX_RECORD} bytes free. */
    void format(AccessLogRecord r, ByteBuffer out) {
        long second = Math.floorDiv(r.epochMillis, 1000);
        if (second != cachedSecond) {
            cachedSecond = second;
            secondText = b((json ? ISO_SECOND : CLF_SECOND).format(Instant.ofEpochSecond(second)));
        }
        int ms = (int) Math.floorMod(r.epochMillis, 1000);
        if (json) {
            out.put(J_TIME).put(secondText).put((byte) '.');
            digits3(out, ms);
            out.put(J_SHARD);
            num(out, r.shard);
            out.put(J_CLIENT);
            escaped(out, r.client, r.client == null ? 0 : r.client.length, true);
            out.put(J_METHOD);
            escaped(out, r.method, r.methodLen, true);
            out.put(J_HOST);
            escaped(out, r.host, r.hostLen, true);
            out.put(J_PATH);
            escaped(out, r.target, r.targetLen, true);
            out.put(r.version == 10 ? J_PROTO_10 : J_PROTO_11);
            num(out, r.status);
            out.put(J_REQ_BYTES);
            num(out, r.requestBytes);
            out.put(J_RESP_BYTES);
            num(out, r.responseBytes);
            out.put(J_DURATION);
            millis(out, r.totalNanos);
            out.put(J_UPSTREAM);
            quotedOrNull(out, r.upstream);
            out.put(J_UPSTREAM_MS);
            if (r.upstreamNanos < 0) {
                out.put(NULL);
            } else {
                millis(out, r.upstreamNanos);
            }
            out.put(J_SERVICE);
            quotedOrNull(out, r.service);
            out.put(J_END);
        } else {
            escaped(out, r.client, r.client == null ? 0 : r.client.length, false);
            out.put(C_DASHES).put(secondText).put(C_TZ);
            escaped(out, r.method, r.methodLen, false);
            out.put((byte) ' ');
            escaped(out, r.target, r.targetLen, false);
            out.put(r.version == 10 ? C_HTTP_10 : C_HTTP_11);
            num(out, r.status);
            out.put((byte) ' ');
            num(out, r.responseBytes);
            out.put(C_REF_UA);
            escaped(out, r.host, r.hostLen, false);
            out.put(C_RT);
            seconds(out, r.totalNanos);
            out.put(C_URT);
            if (r.upstreamNanos < 0) {
                out.put((byte) '-');
            } else {
                seconds(out, r.upstreamNanos);
            }
            out.put(C_UPSTREAM);
            text(out, r.upstream == null ? "-" : r.upstream, false);
            out.put(C_SHARD);
            num(out, r.shard);
            out.put((byte) '\n');
        }
    }

    private static void quotedOrNull(ByteBuffer out, String s) {
        if (s == null) {
            out.put(NULL);
        } else {
            out.put((byte) '"');
            text(out, s, true);
            out.put((byte) '"');
        }
    }

    private static void text(ByteBuffer out, String s, boolean json) {
        int n = Math.min(s.length(), 512);
        for (int i = 0; i < n; i++) {
            put(out, s.charAt(i) & 0xff, json);
        }
    }

    private static void escaped(ByteBuffer out, byte[] b, int len, boolean json) {
        for (int i = 0; i < len; i++) {
            put(out, b[i] & 0xff, json);
        }
    }

    /** Quotes and backslashes escaped; control and non-ASCII bytes as a JSON unicode escape (JSON) or {@code \xXX}. */
    private static void put(ByteBuffer out, int c, boolean json) {
        if (c == '"' || c == '\\') {
            out.put((byte) '\\').put((byte) c);
        } else if (c < 0x20 || c >= 0x7f) {
            if (json) {
                out.put((byte) '\\').put((byte) 'u').put((byte) '0').put((byte) '0');
            } else {
                out.put((byte) '\\').put((byte) 'x');
            }
            out.put(HEX[c >> 4]).put(HEX[c & 15]);
        } else {
            out.put((byte) c);
        }
    }

    static void num(ByteBuffer out, long v) {
        if (v < 0) {
            out.put((byte) '-');
            v = -v;
        }
        if (v < 10) {
            out.put((byte) ('0' + v));
            return;
        }
        int start = out.position();
        while (v > 0) {
            out.put((byte) ('0' + v % 10));
            v /= 10;
        }
        for (int i = start, j = out.position() - 1; i < j; i++, j--) { // reverse the digits in place
            byte t = out.get(i);
            out.put(i, out.get(j));
            out.put(j, t);
        }
    }

    private static void digits3(ByteBuffer out, int v) {
        out.put((byte) ('0' + v / 100)).put((byte) ('0' + v / 10 % 10)).put((byte) ('0' + v % 10));
    }

    /** Milliseconds with three decimals (microsecond resolution), e.g. {@code 1.234}. */
    private static void millis(ByteBuffer out, long nanos) {
        long micros = Math.max(0, nanos) / 1_000;
        num(out, micros / 1_000);
        out.put((byte) '.');
        digits3(out, (int) (micros % 1_000));
    }

    /** Seconds with three decimals, as nginx's $request_time, e.g. {@code 0.012}. */
    private static void seconds(ByteBuffer out, long nanos) {
        long ms = Math.max(0, nanos) / 1_000_000;
        num(out, ms / 1_000);
        out.put((byte) '.');
        digits3(out, (int) (ms % 1_000));
    }
}
