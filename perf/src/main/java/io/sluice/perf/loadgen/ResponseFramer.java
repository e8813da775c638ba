package io.sluice.perf.loadgen;

import io.netty.buffer.ByteBuf;
import io.netty.util.ByteProcessor;

/**
 * Finds where each HTTP/1.1 response ends in a byte stream, and nothing more.
 *
 * <p>A load generator only needs three facts per response: its status code, where it ends
 * (Content-Length, chunked, or end of connection) and whether the server will close the connection
 * afterwards. This class extracts them with a byte-at-a-time state machine, so a response may be split
 * across reads at any byte without the caller accumulating or copying anything; bodies are skipped in
 * bulk. No object is allocated per response, which keeps the generator's own cost per request small
 * and predictable (its JMH benchmark is {@code io.sluice.perf.jmh.ResponseFramerBench}).
 *
 * <p>It is deliberately forgiving (it is measuring servers, not judging them) except where a wrong guess
 * would desynchronise the stream: a non-numeric Content-Length or chunk size is an error, after which
 * {@link #failed()} stays true until {@link #reset()}.
 *
 * <p>Not thread-safe: one instance per connection, used on that connection's event loop. Public only for
 * its JMH benchmark.
 */
public final class ResponseFramer {

    /** Result of {@link #feed(ByteBuf)}. */
    public static final int NEED_MORE = 0;
    public static final int COMPLETE = 1;
    public static final int ERROR = -1;

    private static final int S_VERSION = 0;
    private static final int S_STATUS = 1;
    private static final int S_REASON = 2;
    private static final int S_LINE_START = 3;
    private static final int S_NAME = 4;
    private static final int S_VALUE = 5;
    private static final int S_HEAD_END_LF = 6;
    private static final int S_BODY = 7;
    private static final int S_CHUNK_SIZE = 8;
    private static final int S_CHUNK_EXT = 9;
    private static final int S_CHUNK_DATA = 10;
    private static final int S_CHUNK_DATA_END = 11;
    private static final int S_TRAILER_START = 12;
    private static final int S_TRAILER_LINE = 13;
    private static final int S_TRAILER_END_LF = 14;
    private static final int S_UNTIL_CLOSE = 15;
    private static final int S_FAILED = 16;
    private static final int S_SKIP_LINE = 17;

    // Header names we care about, lower case; a bit per name in the candidate mask below.
    private static final byte[][] NAMES = {
        ascii("content-length"), ascii("transfer-encoding"), ascii("connection"),
    };
    private static final int H_NONE = -1;
    private static final int H_CONTENT_LENGTH = 0;
    private static final int H_TRANSFER_ENCODING = 1;
    private static final int H_CONNECTION = 2;
    private static final int ALL_CANDIDATES = (1 << NAMES.length) - 1;

    // Tokens searched for inside header values.
    private static final byte[] CHUNKED = ascii("chunked");
    private static final byte[] CLOSE = ascii("close");
    private static final byte[] KEEP_ALIVE = ascii("keep-alive");

    private int state;
    private int versionPos;
    private boolean http10;
    private int status;
    private int statusDigits;

    private int nameLen;
    private int candidates;
    private int header;
    private boolean valueStarted; // a chunk-size line has at least one digit
    private int tokenPos;         // chars of "chunked" matched by the current token, -1 if it differs
    private int closePos;
    private int keepAlivePos;

    private long contentLength;
    private boolean chunked;
    private boolean closeAfter;
    private boolean keepAliveSeen;
    private long remaining;
    private int crlfLeft;

    private int completedStatus;
    private boolean completedCloseAfter;

    private int lastStep;
    /** Feeds bytes to step() until a response completes or fails, or bytes can be skipped in bulk. */
    private final ByteProcessor stepper = b -> {
        int r = step(b);
        if (r != NEED_MORE) {
            lastStep = r;
            return false;
        }
        return !skipsInBulk(state);
    };

    /** States whose bytes feed() skips without looking at each: bodies and lines we do not read. */
    private static boolean skipsInBulk(int state) {
        return switch (state) {
            case S_BODY, S_CHUNK_DATA, S_UNTIL_CLOSE, S_REASON, S_SKIP_LINE, S_TRAILER_LINE, S_CHUNK_EXT -> true;
            default -> false;
        };
    }

    public ResponseFramer() {
        reset();
    }

    /** Forget everything, ready for the first byte of a new connection. */
    public void reset() {
        startResponse();
    }

    /** Status code of the last completed response. */
    public int status() {
        return completedStatus;
    }

    /** Whether the server will close the connection after the last completed response. */
    public boolean closeAfter() {
        return completedCloseAfter;
    }

    /** True when the stream could not be framed; only {@link #reset()} clears it. */
    public boolean failed() {
        return state == S_FAILED;
    }

    /** True while a body is delimited by the end of the connection, which then completes it. */
    public boolean readsUntilClose() {
        return state == S_UNTIL_CLOSE;
    }

    /**
     * Consumes bytes of {@code in} up to the end of the current response.
     *
     * @return {@link #COMPLETE} when a final (non-1xx) response ended, leaving the reader index on the
     *     next response's first byte; {@link #NEED_MORE} when {@code in} was used up first;
     *     {@link #ERROR} when the stream cannot be framed
     */
    public int feed(ByteBuf in) {
        int i = in.readerIndex();
        final int end = in.writerIndex();
        while (i < end) {
            switch (state) {
                case S_BODY, S_CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, end - i);
                    i += n;
                    remaining -= n;
                    if (remaining == 0) {
                        if (state == S_BODY) {
                            in.readerIndex(i);
                            return complete();
                        }
                        state = S_CHUNK_DATA_END;
                        crlfLeft = 2;
                    }
                }
                case S_UNTIL_CLOSE -> i = end;
                case S_REASON, S_SKIP_LINE, S_TRAILER_LINE, S_CHUNK_EXT -> {
                    // The rest of a line we do not read: jump to its LF (a vectorised search in Netty).
                    int lf = in.indexOf(i, end, (byte) '\n');
                    if (lf < 0) {
                        i = end;
                    } else {
                        i = lf + 1;
                        int r = step((byte) '\n');
                        if (r != NEED_MORE) {
                            in.readerIndex(r == ERROR ? end : i);
                            return r;
                        }
                    }
                }
                case S_FAILED -> {
                    in.readerIndex(end);
                    return ERROR;
                }
                default -> {
                    // Head and chunk-size bytes go through forEachByte, which skips the per-byte bounds and
                    // reference-count checks of getByte; stepper stops it on anything but "need more".
                    lastStep = NEED_MORE;
                    int stop = in.forEachByte(i, end - i, stepper);
                    if (stop < 0) {
                        i = end;
                    } else {
                        i = stop + 1;
                        if (lastStep != NEED_MORE) {
                            in.readerIndex(lastStep == ERROR ? end : i);
                            return lastStep;
                        }
                    }
                }
            }
        }
        in.readerIndex(end);
        return NEED_MORE;
    }

    /** The connection ended: completes a close-delimited body, anything else in progress is lost. */
    public boolean endOfInput() {
        if (state == S_UNTIL_CLOSE) {
            complete();
            return true;
        }
        return false;
    }

    private int step(byte b) {
        switch (state) {
            case S_VERSION -> {
                // "HTTP/1.x": remember x, then a space ends the version.
                if (b == ' ') {
                    if (versionPos < 5) {
                        return fail();
                    }
                    state = S_STATUS;
                } else {
                    if (versionPos == 7) {
                        http10 = b == '0';
                    }
                    versionPos++;
                }
            }
            case S_STATUS -> {
                if (b >= '0' && b <= '9' && statusDigits < 3) {
                    status = status * 10 + (b - '0');
                    statusDigits++;
                } else if (statusDigits == 3 && (b == ' ' || b == '\r')) {
                    state = S_REASON;
                } else if (statusDigits == 3 && b == '\n') {
                    state = S_LINE_START;
                } else {
                    return fail();
                }
            }
            case S_REASON -> {
                if (b == '\n') {
                    state = S_LINE_START;
                }
            }
            case S_LINE_START -> {
                if (b == '\r') {
                    state = S_HEAD_END_LF;
                } else if (b == '\n') {
                    return headEnd();
                } else if (lower(b) != 'c' && lower(b) != 't') {
                    state = S_SKIP_LINE; // not one of the headers we read: no need to match its name
                } else {
                    nameLen = 0;
                    candidates = ALL_CANDIDATES;
                    state = S_NAME;
                    return step(b);
                }
            }
            case S_SKIP_LINE -> {
                if (b == '\n') {
                    state = S_LINE_START;
                }
            }
            case S_NAME -> {
                if (b == ':') {
                    header = matchedHeader();
                    tokenPos = 0;
                    closePos = 0;
                    keepAlivePos = 0;
                    state = S_VALUE;
                } else if (b == '\n') {
                    state = S_LINE_START; // a line without a colon: ignore it
                } else {
                    byte lower = lower(b);
                    int c = candidates;
                    for (int h = 0; h < NAMES.length; h++) {
                        if ((c & (1 << h)) != 0) {
                            byte[] name = NAMES[h];
                            if (nameLen >= name.length || name[nameLen] != lower) {
                                c &= ~(1 << h);
                            }
                        }
                    }
                    candidates = c;
                    nameLen++;
                    if (c == 0) {
                        state = S_SKIP_LINE; // no name of interest starts like this one
                    }
                }
            }
            case S_VALUE -> {
                if (b == '\n') {
                    endValue();
                    state = S_LINE_START;
                } else if (b != '\r') {
                    value(b);
                    if (state == S_FAILED) {
                        return ERROR;
                    }
                }
            }
            case S_HEAD_END_LF -> {
                if (b != '\n') {
                    return fail();
                }
                return headEnd();
            }
            case S_CHUNK_SIZE -> {
                int d = hex(b);
                if (d >= 0) {
                    if (remaining > (Long.MAX_VALUE >> 4)) {
                        return fail();
                    }
                    remaining = (remaining << 4) | d;
                    valueStarted = true;
                } else if (b == ';' || b == ' ' || b == '\t') {
                    state = S_CHUNK_EXT;
                } else if (b == '\n') {
                    return chunkSizeEnd();
                } else if (b != '\r') {
                    return fail();
                }
            }
            case S_CHUNK_EXT -> {
                if (b == '\n') {
                    return chunkSizeEnd();
                }
            }
            case S_CHUNK_DATA_END -> {
                // CRLF after chunk data; tolerate a bare LF.
                if (b == '\n') {
                    state = S_CHUNK_SIZE;
                    remaining = 0;
                    valueStarted = false;
                } else if (b != '\r' || --crlfLeft < 1) {
                    return fail();
                }
            }
            case S_TRAILER_START -> {
                if (b == '\r') {
                    state = S_TRAILER_END_LF;
                } else if (b == '\n') {
                    return complete();
                } else {
                    state = S_TRAILER_LINE;
                }
            }
            case S_TRAILER_LINE -> {
                if (b == '\n') {
                    state = S_TRAILER_START;
                }
            }
            case S_TRAILER_END_LF -> {
                if (b != '\n') {
                    return fail();
                }
                return complete();
            }
            default -> {
                return fail();
            }
        }
        return NEED_MORE;
    }

    private int matchedHeader() {
        int c = candidates;
        for (int h = 0; h < NAMES.length; h++) {
            if ((c & (1 << h)) != 0 && NAMES[h].length == nameLen) {
                return h;
            }
        }
        return H_NONE;
    }

    private void value(byte b) {
        if (b == ' ' || b == '\t') {
            return; // OWS around and inside the values we read carries no meaning for us
        }
        switch (header) {
            case H_CONTENT_LENGTH -> {
                if (b < '0' || b > '9' || contentLength > (Long.MAX_VALUE - 9) / 10) {
                    fail();
                    return;
                }
                contentLength = (contentLength < 0 ? 0 : contentLength * 10) + (b - '0');
            }
            case H_TRANSFER_ENCODING -> {
                if (b == ',') {
                    tokenPos = 0;
                } else {
                    tokenPos = match(CHUNKED, tokenPos, lower(b));
                }
            }
            case H_CONNECTION -> {
                if (b == ',') {
                    endConnectionToken();
                } else {
                    byte lower = lower(b);
                    closePos = match(CLOSE, closePos, lower);
                    keepAlivePos = match(KEEP_ALIVE, keepAlivePos, lower);
                }
            }
            default -> {
                // a header we do not need
            }
        }
    }

    /** Next match position of {@code token} after byte {@code b}, or -1 once the current token differs. */
    private static int match(byte[] token, int pos, byte b) {
        return pos >= 0 && pos < token.length && token[pos] == b ? pos + 1 : -1;
    }

    private void endConnectionToken() {
        if (closePos == CLOSE.length) {
            closeAfter = true;
        }
        if (keepAlivePos == KEEP_ALIVE.length) {
            keepAliveSeen = true;
        }
        closePos = 0;
        keepAlivePos = 0;
    }

    private void endValue() {
        if (header == H_TRANSFER_ENCODING) {
            // Chunked framing applies when chunked is the last coding listed.
            chunked = tokenPos == CHUNKED.length;
        } else if (header == H_CONNECTION) {
            endConnectionToken();
        }
    }

    private static byte lower(byte b) {
        return (b >= 'A' && b <= 'Z') ? (byte) (b + 32) : b;
    }

    private int headEnd() {
        if (status >= 100 && status < 200 && status != 101) {
            // Interim response (100 Continue, 103 Early Hints): the final one follows.
            startResponse();
            return NEED_MORE;
        }
        if (http10 && !keepAliveSeen) {
            closeAfter = true;
        }
        if (status == 204 || status == 304 || status == 101) {
            return complete();
        }
        if (chunked) {
            state = S_CHUNK_SIZE;
            remaining = 0;
            valueStarted = false;
            return NEED_MORE;
        }
        if (contentLength >= 0) {
            if (contentLength == 0) {
                return complete();
            }
            remaining = contentLength;
            state = S_BODY;
            return NEED_MORE;
        }
        closeAfter = true;
        state = S_UNTIL_CLOSE;
        return NEED_MORE;
    }

    private int chunkSizeEnd() {
        if (!valueStarted) {
            return fail();
        }
        if (remaining == 0) {
            state = S_TRAILER_START;
        } else {
            state = S_CHUNK_DATA;
        }
        return NEED_MORE;
    }

    private int complete() {
        completedStatus = status;
        completedCloseAfter = closeAfter;
        startResponse();
        return COMPLETE;
    }

    private void startResponse() {
        state = S_VERSION;
        versionPos = 0;
        http10 = false;
        status = 0;
        statusDigits = 0;
        contentLength = -1;
        chunked = false;
        closeAfter = false;
        keepAliveSeen = false;
        remaining = 0;
        valueStarted = false;
    }

    private int fail() {
        state = S_FAILED;
        return ERROR;
    }

    private static int hex(byte b) {
        if (b >= '0' && b <= '9') {
            return b - '0';
        }
        if (b >= 'a' && b <= 'f') {
            return b - 'a' + 10;
        }
        if (b >= 'A' && b <= 'F') {
            return b - 'A' + 10;
        }
        return -1;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
}
