package io.sluice.dataplane.http;

import io.netty.buffer.ByteBuf;

/**
 * A parsed HTTP/1.x message head as offsets into the buffer that holds it: a flyweight, reused for every message on
 * a connection, that never copies a byte nor makes a String.
 *
 * <p>Header lines are recorded as {@code [lineStart, lineEnd)} (including CRLF) with the name and the trimmed value
 * inside, so that the proxy forwards kept lines by copying runs of bytes. The headers that decide framing and
 * hop-by-hop behaviour are interpreted while parsing; everything else is opaque.
 *
 * <p>Strictness (RFC 9112): lines end in CRLF (bare CR or bare LF: 400); no whitespace between a name and its colon;
 * no obs-fold; names are tokens; values contain no control bytes but HTAB; Content-Length is digits only, and
 * repeated values must agree; Transfer-Encoding must end in chunked (else 400) and may not carry other codings
 * (501); Content-Length with Transfer-Encoding is rejected (400): a proxy that guessed here would smuggle.
 */
public abstract class MessageHead {
    static final byte CR = '\r';
    static final byte LF = '\n';
    private static final byte[] CHUNKED = HeaderId.ascii("chunked");
    private static final byte[] CLOSE = HeaderId.ascii("close");
    private static final byte[] KEEP_ALIVE = HeaderId.ascii("keep-alive");
    private static final byte[] UPGRADE = HeaderId.ascii("upgrade");
    private static final byte[] CONTINUE = HeaderId.ascii("100-continue");
    /** Connection tokens naming extra hop-by-hop headers that we remember (more are a 400: nobody needs them). */
    static final int MAX_CONNECTION_TOKENS = 16;

    public ByteBuf buf;
    public int start;
    public int end;
    /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
    public int version;

    public int headerCount;
    public final int[] lineStart;
    public final int[] nameEnd;
    public final int[] valueStart;
    public final int[] valueEnd;
    public final int[] lineEnd;
    public final byte[] ids;

    /** -1 when absent. */
    public long contentLength;
    public boolean chunked;
    /** Transfer-Encoding present (in a request: with chunked last, else parsing failed). */
    public boolean hasTransferEncoding;
    public boolean connectionClose;
    public boolean connectionKeepAlive;
    public boolean connectionUpgrade;
    public boolean expectContinue;
    /** Index of the Upgrade header line or -1. */
    public int upgradeHeader;
    public int connectionTokenCount;
    final int[] connTokenStart = new int[MAX_CONNECTION_TOKENS];
    final int[] connTokenEnd = new int[MAX_CONNECTION_TOKENS];

    protected MessageHead(int maxHeaders) {
        lineStart = new int[maxHeaders];
        nameEnd = new int[maxHeaders];
        valueStart = new int[maxHeaders];
        valueEnd = new int[maxHeaders];
        lineEnd = new int[maxHeaders];
        ids = new byte[maxHeaders];
    }

    void reset(ByteBuf buf, int start, int end) {
        this.buf = buf;
        this.start = start;
        this.end = end;
        headerCount = 0;
        contentLength = -1;
        chunked = false;
        hasTransferEncoding = false;
        connectionClose = false;
        connectionKeepAlive = false;
        connectionUpgrade = false;
        expectContinue = false;
        upgradeHeader = -1;
        connectionTokenCount = 0;
    }

    /**
     * Scans {@code [from, end)} for the blank line that ends a head starting at {@code start}.
     *
     * @return the index just past the head, {@link HttpStatus#NEED_MORE}, or a negated status (414 when the first
     *     line is longer than {@code maxLine}, 431 when the head is longer than {@code maxHead}, 400 for a bare LF)
     */
    public static int findEnd(ByteBuf buf, int start, int from, int end, int maxLine, int maxHead) {
        int i = Math.max(from, start);
        while (true) {
            int lf = buf.indexOf(i, end, LF);
            if (lf < 0) {
                // No complete line: is the first line, or the head, already too long?
                if (buf.indexOf(start, end, LF) < 0 && end - start > maxLine) {
                    return -HttpStatus.URI_TOO_LONG;
                }
                return end - start > maxHead ? -HttpStatus.HEADERS_TOO_LARGE : HttpStatus.NEED_MORE;
            }
            if (lf == start || buf.getByte(lf - 1) != CR) {
                return -HttpStatus.BAD_REQUEST;
            }
            if (lf - start + 1 > maxHead) {
                return -HttpStatus.HEADERS_TOO_LARGE;
            }
            if (lf - 3 >= start && buf.getByte(lf - 2) == LF && buf.getByte(lf - 3) == CR) {
                return lf + 1;
            }
            if (lf - 1 == start) {
                // A head that starts with CRLF: callers skip leading empty lines, so this is an empty head.
                return -HttpStatus.BAD_REQUEST;
            }
            i = lf + 1;
        }
    }

    /**
     * Parses the header lines in {@code [from, end)}, where {@code end} is just past the blank line.
     *
     * @return {@link HttpStatus#OK} or the status to answer (400, 431, 501)
     */
    int parseHeaders(int from, boolean request) {
        int i = from;
        final int max = lineStart.length;
        while (true) {
            int lf = buf.indexOf(i, end, LF);
            // findEnd guaranteed that every LF is preceded by CR and that the head ends in CRLF CRLF.
            int cr = lf - 1;
            if (cr == i) {
                return i + 2 == end ? finishFraming(request) : HttpStatus.BAD_REQUEST;
            }
            if (headerCount == max) {
                return HttpStatus.HEADERS_TOO_LARGE;
            }
            byte first = buf.getByte(i);
            if (first == ' ' || first == '\t') {
                return HttpStatus.BAD_REQUEST; // obs-fold
            }
            // One scan over the name: stops at the first byte that is not a token character, which must be the
            // colon (whitespace before it, a CR, anything else: 400).
            int colon = buf.forEachByte(i, cr - i, Ascii.NOT_TCHAR);
            if (colon <= i || buf.getByte(colon) != ':') {
                return HttpStatus.BAD_REQUEST;
            }
            int vs = colon + 1;
            while (vs < cr && isOws(buf.getByte(vs))) {
                vs++;
            }
            int ve = cr;
            while (ve > vs && isOws(buf.getByte(ve - 1))) {
                ve--;
            }
            if (ve > vs && buf.forEachByte(vs, ve - vs, Ascii.FIELD_VALUE_CTL) >= 0) {
                return HttpStatus.BAD_REQUEST; // a control byte: bare CR, NUL, ...
            }
            int h = headerCount++;
            lineStart[h] = i;
            nameEnd[h] = colon;
            valueStart[h] = vs;
            valueEnd[h] = ve;
            lineEnd[h] = lf + 1;
            byte id = HeaderId.identify(buf, i, colon - i);
            ids[h] = id;
            int status = interpret(h, id, request);
            if (status != HttpStatus.OK) {
                return status;
            }
            i = lf + 1;
        }
    }

    private static boolean isOws(byte b) {
        return b == ' ' || b == '\t';
    }

    private int interpret(int h, byte id, boolean request) {
        int vs = valueStart[h];
        int ve = valueEnd[h];
        switch (id) {
            case HeaderId.CONTENT_LENGTH: {
                long v = Ascii.parseDecimal(buf, vs, ve);
                if (v < 0 || (contentLength >= 0 && contentLength != v)) {
                    return HttpStatus.BAD_REQUEST;
                }
                contentLength = v;
                return HttpStatus.OK;
            }
            case HeaderId.TRANSFER_ENCODING:
                return transferEncoding(vs, ve, request);
            case HeaderId.CONNECTION:
                return connectionTokens(vs, ve);
            case HeaderId.UPGRADE:
                upgradeHeader = h;
                return HttpStatus.OK;
            case HeaderId.EXPECT:
                if (Ascii.equalsIgnoreCase(buf, vs, ve - vs, CONTINUE)) {
                    expectContinue = true;
                }
                return HttpStatus.OK;
            default:
                return HttpStatus.OK;
        }
    }

    /** Walks the coding list; chunked must come last and once, anything else is unsupported. */
    private int transferEncoding(int vs, int ve, boolean request) {
        if (chunked) {
            return HttpStatus.BAD_REQUEST; // a coding after chunked, in a later field line
        }
        hasTransferEncoding = true;
        boolean other = false;
        for (int i = vs; i < ve; i = elementEnd + 1) {
            if (!nextListToken(i, ve)) {
                continue;
            }
            if (chunked) {
                return HttpStatus.BAD_REQUEST; // chunked not last, or twice
            }
            if (Ascii.equalsIgnoreCase(buf, tokenStart, tokenEnd - tokenStart, CHUNKED)) {
                chunked = true;
            } else {
                other = true;
            }
        }
        if (!chunked) {
            return request ? HttpStatus.BAD_REQUEST : HttpStatus.OK;
        }
        return other ? HttpStatus.NOT_IMPLEMENTED : HttpStatus.OK;
    }

    private int connectionTokens(int vs, int ve) {
        for (int i = vs; i < ve; i = elementEnd + 1) {
            if (!nextListToken(i, ve)) {
                continue;
            }
            int ts = tokenStart;
            int len = tokenEnd - ts;
            if (Ascii.equalsIgnoreCase(buf, ts, len, CLOSE)) {
                connectionClose = true;
            } else if (Ascii.equalsIgnoreCase(buf, ts, len, KEEP_ALIVE)) {
                connectionKeepAlive = true;
            } else if (Ascii.equalsIgnoreCase(buf, ts, len, UPGRADE)) {
                connectionUpgrade = true;
            } else {
                for (int j = ts; j < tokenEnd; j++) {
                    if (!Ascii.isTchar(buf.getByte(j))) {
                        return HttpStatus.BAD_REQUEST;
                    }
                }
                if (connectionTokenCount == MAX_CONNECTION_TOKENS) {
                    return HttpStatus.BAD_REQUEST;
                }
                connTokenStart[connectionTokenCount] = ts;
                connTokenEnd[connectionTokenCount] = tokenEnd;
                connectionTokenCount++;
            }
        }
        return HttpStatus.OK;
    }

    // Set by nextListToken: the element's trimmed token [tokenStart, tokenEnd) and the index of the comma that ends
    // it (or the value's end). Fields rather than a returned object: the parser allocates nothing.
    private int tokenStart;
    private int tokenEnd;
    private int elementEnd;

    /**
     * Finds the comma-separated list element that starts at {@code from} (RFC 9110 §5.6.1), trims OWS, and returns
     * false when it is empty (lists may contain empty elements, which recipients ignore).
     */
    private boolean nextListToken(int from, int ve) {
        int e = from;
        while (e < ve && buf.getByte(e) != ',') {
            e++;
        }
        int ts = from;
        int te = e;
        while (ts < te && isOws(buf.getByte(ts))) {
            ts++;
        }
        while (te > ts && isOws(buf.getByte(te - 1))) {
            te--;
        }
        tokenStart = ts;
        tokenEnd = te;
        elementEnd = e;
        return te > ts;
    }

    private int finishFraming(boolean request) {
        if (hasTransferEncoding && contentLength >= 0) {
            return request ? HttpStatus.BAD_REQUEST : HttpStatus.BAD_GATEWAY;
        }
        if (request && hasTransferEncoding && version == 10) {
            return HttpStatus.BAD_REQUEST; // RFC 9112 §6.1: chunked is not HTTP/1.0 framing
        }
        return HttpStatus.OK;
    }

    /** True when header line {@code h} is named by a token of the Connection header (so it is hop-by-hop). */
    public boolean namedByConnection(int h) {
        int ns = lineStart[h];
        int len = nameEnd[h] - ns;
        for (int t = 0; t < connectionTokenCount; t++) {
            if (connTokenEnd[t] - connTokenStart[t] == len
                && Ascii.equalsIgnoreCase(buf, ns, buf, connTokenStart[t], len)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the sender of this message wants the connection kept open after it. */
    public boolean keepAlive() {
        if (connectionClose) {
            return false;
        }
        return version == 11 || connectionKeepAlive;
    }
}
