package io.sluice.dataplane.http;

import io.netty.buffer.ByteBuf;

/**
 * A request head: the request line, the headers, and what the proxy needs to route it (host, path) as offsets.
 *
 * <p>Targets in origin-form ({@code /path?q}), absolute-form ({@code http://host/path}, whose authority then
 * replaces Host, RFC 9112 §3.2.2) and asterisk-form (OPTIONS only) are accepted; authority-form (CONNECT) is answered
 * with 405, since an ingress is not a forward proxy. Paths with dot-segments ({@code /a/../b}) are rejected: the
 * route decision is made on the raw bytes, so a path that a backend would normalise elsewhere must not pass.
 */
public final class RequestHead extends MessageHead {
    public static final byte M_OTHER = 0;
    public static final byte M_GET = 1;
    public static final byte M_HEAD = 2;
    public static final byte M_POST = 3;
    public static final byte M_PUT = 4;
    public static final byte M_DELETE = 5;
    public static final byte M_OPTIONS = 6;
    public static final byte M_CONNECT = 7;
    public static final byte M_TRACE = 8;
    public static final byte M_PATCH = 9;

    public byte method;
    public int methodEnd;
    public int targetStart;
    public int targetEnd;
    /** The path, without the query: {@code [pathStart, pathEnd)}. For {@code *} it is empty. */
    public int pathStart;
    public int pathEnd;
    /** Authority of an absolute-form target, else -1. */
    public int authorityStart = -1;
    public int authorityEnd = -1;
    /** Host to route on: the absolute-form authority or the Host header value; start -1 when there is none. */
    public int hostStart;
    public int hostEnd;
    /** Index of the Host header line, -1 when absent. */
    public int hostHeader;
    public int requestLineEnd;

    public RequestHead(int maxHeaders) {
        super(maxHeaders);
    }

    /**
     * Parses a complete head, {@code [start, end)} as found by {@link #findEnd}.
     *
     * @return {@link HttpStatus#OK} or the status to answer
     */
    public int parse(ByteBuf buf, int start, int end) {
        reset(buf, start, end);
        authorityStart = -1;
        authorityEnd = -1;
        hostStart = -1;
        hostEnd = -1;
        hostHeader = -1;
        int lf = buf.indexOf(start, end, LF);
        int cr = lf - 1;
        requestLineEnd = lf + 1;
        // method
        int i = buf.forEachByte(start, cr - start, Ascii.NOT_TCHAR);
        if (i <= start || buf.getByte(i) != ' ') {
            return HttpStatus.BAD_REQUEST;
        }
        methodEnd = i;
        method = methodOf(buf, start, i - start);
        // target
        targetStart = ++i;
        int sp = buf.indexOf(i, cr, (byte) ' ');
        if (sp < 0) {
            return HttpStatus.BAD_REQUEST;
        }
        if (sp > i && buf.forEachByte(i, sp - i, Ascii.NOT_TARGET) >= 0) {
            return HttpStatus.BAD_REQUEST; // a byte no target may hold (control, non-ASCII, '#')
        }
        i = sp;
        targetEnd = i;
        if (targetEnd == targetStart || i >= cr) {
            return HttpStatus.BAD_REQUEST;
        }
        // version: exactly "HTTP/1.x" then CRLF
        if (cr - (i + 1) != 8 || !startsWith(buf, i + 1, "HTTP/1.")) {
            if (cr - (i + 1) == 8 && startsWith(buf, i + 1, "HTTP/")) {
                return HttpStatus.VERSION_NOT_SUPPORTED;
            }
            return HttpStatus.BAD_REQUEST;
        }
        byte minor = buf.getByte(cr - 1);
        if (minor == '1') {
            version = 11;
        } else if (minor == '0') {
            version = 10;
        } else {
            return HttpStatus.VERSION_NOT_SUPPORTED;
        }
        int st = parseTarget();
        if (st != HttpStatus.OK) {
            return st;
        }
        st = parseHeaders(requestLineEnd, true);
        if (st != HttpStatus.OK) {
            return st;
        }
        return resolveHost();
    }

    private int parseTarget() {
        byte first = buf.getByte(targetStart);
        if (method == M_CONNECT) {
            return HttpStatus.METHOD_NOT_ALLOWED;
        }
        if (first == '/') {
            pathStart = targetStart;
        } else if (first == '*') {
            if (targetEnd - targetStart != 1 || method != M_OPTIONS) {
                return HttpStatus.BAD_REQUEST;
            }
            pathStart = targetStart;
            pathEnd = targetStart;
            return HttpStatus.OK;
        } else if (targetEnd - targetStart > 7 && startsWithIgnoreCase(buf, targetStart, "http://")) {
            authorityStart = targetStart + 7;
            int a = authorityStart;
            while (a < targetEnd && buf.getByte(a) != '/' && buf.getByte(a) != '?') {
                a++;
            }
            authorityEnd = a;
            if (authorityEnd == authorityStart || !validHost(authorityStart, authorityEnd)) {
                return HttpStatus.BAD_REQUEST;
            }
            pathStart = a;
            if (a == targetEnd || buf.getByte(a) != '/') {
                // "http://host" or "http://host?q": the path is empty, which RFC 9112 §3.2.1 reads as "/".
                pathEnd = a;
                return HttpStatus.OK;
            }
        } else {
            return HttpStatus.BAD_REQUEST;
        }
        int q = buf.indexOf(pathStart, targetEnd, (byte) '?');
        pathEnd = q < 0 ? targetEnd : q;
        return hasDotSegment() ? HttpStatus.BAD_REQUEST : HttpStatus.OK;
    }

    /** True when the path has a "." or ".." segment (raw; percent-encoded dots are the backend's business). */
    private boolean hasDotSegment() {
        for (int i = pathStart; i < pathEnd; i++) {
            if (buf.getByte(i) == '/' && i + 1 < pathEnd && buf.getByte(i + 1) == '.') {
                int j = i + 2;
                if (j < pathEnd && buf.getByte(j) == '.') {
                    j++;
                }
                if (j == pathEnd || buf.getByte(j) == '/') {
                    return true;
                }
            }
        }
        return false;
    }

    private int resolveHost() {
        for (int h = 0; h < headerCount; h++) {
            if (ids[h] == HeaderId.HOST) {
                if (hostHeader >= 0) {
                    return HttpStatus.BAD_REQUEST; // two Host lines: which one would the backend believe?
                }
                hostHeader = h;
            }
        }
        if (authorityStart >= 0) {
            hostStart = authorityStart;
            hostEnd = authorityEnd;
            return HttpStatus.OK;
        }
        if (hostHeader < 0) {
            return version == 11 ? HttpStatus.BAD_REQUEST : HttpStatus.OK;
        }
        int vs = valueStart[hostHeader];
        int ve = valueEnd[hostHeader];
        if (vs == ve) {
            return version == 11 ? HttpStatus.BAD_REQUEST : HttpStatus.OK;
        }
        if (!validHost(vs, ve)) {
            return HttpStatus.BAD_REQUEST;
        }
        hostStart = vs;
        hostEnd = ve;
        return HttpStatus.OK;
    }

    /** reg-name or IPv4 with optional port, or [IPv6] with optional port; nothing else (no userinfo). */
    private boolean validHost(int s, int e) {
        int i = s;
        if (buf.getByte(i) == '[') {
            int close = buf.indexOf(i, e, (byte) ']');
            if (close < 0) {
                return false;
            }
            for (int j = i + 1; j < close; j++) {
                byte b = buf.getByte(j);
                if (!(isHex(b) || b == ':' || b == '.')) {
                    return false;
                }
            }
            i = close + 1;
        } else {
            while (i < e && buf.getByte(i) != ':') {
                byte b = buf.getByte(i);
                boolean ok = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-'
                    || b == '.' || b == '_';
                if (!ok) {
                    return false;
                }
                i++;
            }
            if (i == s) {
                return false;
            }
        }
        if (i == e) {
            return true;
        }
        if (buf.getByte(i) != ':' || e - i - 1 > 5) {
            return false;
        }
        for (int j = i + 1; j < e; j++) {
            byte b = buf.getByte(j);
            if (b < '0' || b > '9') {
                return false;
            }
        }
        return true;
    }

    private static boolean isHex(byte b) {
        return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
    }

    /** End of the host name within [hostStart, hostEnd): before ":port". */
    public int hostNameEnd() {
        if (hostStart < 0) {
            return -1;
        }
        if (buf.getByte(hostStart) == '[') {
            return buf.indexOf(hostStart, hostEnd, (byte) ']') + 1;
        }
        int colon = buf.indexOf(hostStart, hostEnd, (byte) ':');
        return colon < 0 ? hostEnd : colon;
    }

    /** Methods that a proxy may send again on a fresh connection when a reused one fails before any response. */
    public boolean idempotent() {
        return method == M_GET || method == M_HEAD || method == M_OPTIONS || method == M_TRACE || method == M_PUT
            || method == M_DELETE;
    }

    public boolean hasBody() {
        return chunked || contentLength > 0;
    }

    private static byte methodOf(ByteBuf buf, int s, int len) {
        switch (len) {
            case 3:
                if (startsWith(buf, s, "GET")) {
                    return M_GET;
                }
                return startsWith(buf, s, "PUT") ? M_PUT : M_OTHER;
            case 4:
                if (startsWith(buf, s, "POST")) {
                    return M_POST;
                }
                return startsWith(buf, s, "HEAD") ? M_HEAD : M_OTHER;
            case 5:
                if (startsWith(buf, s, "PATCH")) {
                    return M_PATCH;
                }
                return startsWith(buf, s, "TRACE") ? M_TRACE : M_OTHER;
            case 6: return startsWith(buf, s, "DELETE") ? M_DELETE : M_OTHER;
            case 7:
                if (startsWith(buf, s, "OPTIONS")) {
                    return M_OPTIONS;
                }
                return startsWith(buf, s, "CONNECT") ? M_CONNECT : M_OTHER;
            default: return M_OTHER;
        }
    }

    static boolean startsWith(ByteBuf buf, int at, String ascii) {
        for (int i = 0; i < ascii.length(); i++) {
            if (buf.getByte(at + i) != ascii.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    static boolean startsWithIgnoreCase(ByteBuf buf, int at, String lowerAscii) {
        for (int i = 0; i < lowerAscii.length(); i++) {
            if (Ascii.lower(buf.getByte(at + i)) != lowerAscii.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
