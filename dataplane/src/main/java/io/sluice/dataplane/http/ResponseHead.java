package io.sluice.dataplane.http;

import io.netty.buffer.ByteBuf;

/** An upstream's response head. Parsed as strictly as requests; any fault is a 502 to the client. */
public final class ResponseHead extends MessageHead {
    public int status;
    public int statusLineEnd;

    public ResponseHead(int maxHeaders) {
        super(maxHeaders);
    }

    /** @return {@link HttpStatus#OK} or {@link HttpStatus#BAD_GATEWAY} */
    public int parse(ByteBuf buf, int start, int end) {
        reset(buf, start, end);
        int lf = buf.indexOf(start, end, LF);
        statusLineEnd = lf + 1;
        // "HTTP/1.x NNN[ reason]" CRLF
        if (lf - 1 - start < 12 || !RequestHead.startsWith(buf, start, "HTTP/1.") || buf.getByte(start + 8) != ' ') {
            return HttpStatus.BAD_GATEWAY;
        }
        byte minor = buf.getByte(start + 7);
        if (minor != '0' && minor != '1') {
            return HttpStatus.BAD_GATEWAY;
        }
        version = minor == '1' ? 11 : 10;
        int s = 0;
        for (int i = start + 9; i < start + 12; i++) {
            int d = buf.getByte(i) - '0';
            if (d < 0 || d > 9) {
                return HttpStatus.BAD_GATEWAY;
            }
            s = s * 10 + d;
        }
        if (s < 100 || (lf - 1 > start + 12 && buf.getByte(start + 12) != ' ')) {
            return HttpStatus.BAD_GATEWAY;
        }
        status = s;
        for (int i = start + 12; i < lf - 1; i++) {
            int b = buf.getByte(i) & 0xff;
            if ((b < 0x20 && b != '\t') || b == 0x7f) {
                return HttpStatus.BAD_GATEWAY;
            }
        }
        int st = parseHeaders(statusLineEnd, false);
        return st == HttpStatus.OK ? HttpStatus.OK : HttpStatus.BAD_GATEWAY;
    }

    /**
     * Whether a body follows, given the request method: never for HEAD, 1xx, 204 and 304 (RFC 9112 §6.3).
     */
    public boolean hasBody(boolean headRequest) {
        return !(headRequest || status < 200 || status == 204 || status == 304);
    }

    /** A body without Content-Length or chunked framing runs until the upstream closes. */
    public boolean delimitedByClose() {
        return !chunked && contentLength < 0;
    }
}
