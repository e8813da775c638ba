package io.sluice.dataplane.http;

import io.netty.buffer.ByteBuf;

/**
 * Follows chunked framing (RFC 9112 §7.1) through bytes as they arrive, to find where the message ends, without
 * changing or copying them: the proxy forwards chunked bodies as they are, after this has checked every size line.
 *
 * <p>Rejected: a size that is not hex or longer than 15 digits, a chunk not followed by CRLF, a bare CR or LF, control
 * bytes in extensions or trailers, a body larger than the limit.
 */
public final class ChunkedScanner {
    public static final int ERROR = -2;
    public static final int TOO_LARGE = -3;

    private static final int SIZE = 0;
    private static final int SIZE_EXT = 1;
    private static final int SIZE_LF = 2;
    private static final int DATA = 3;
    private static final int DATA_CR = 4;
    private static final int DATA_LF = 5;
    private static final int TRAILER_START = 6;
    private static final int TRAILER_LINE = 7;
    private static final int TRAILER_LF = 8;
    private static final int LAST_LF = 9;
    private static final int DONE = 10;

    private int state;
    private long chunkRemaining;
    private int sizeDigits;
    private long total;
    private long maxBody;

    public void reset(long maxBody) {
        state = SIZE;
        chunkRemaining = 0;
        sizeDigits = 0;
        total = 0;
        this.maxBody = maxBody;
    }

    public boolean done() {
        return state == DONE;
    }

    /**
     * Consumes {@code [from, end)} until the body ends.
     *
     * @return the index just past the last byte that belongs to the body (== end when it goes on), or
     *     {@link #ERROR} / {@link #TOO_LARGE}
     */
    public int scan(ByteBuf buf, int from, int end) {
        return scan(buf, from, end, null);
    }

    /** Receives the data of each chunk as it is scanned (for a peer that frames data itself, like HTTP/2). */
    @FunctionalInterface
    public interface DataSink {
        void data(ByteBuf buf, int index, int length);
    }

    /** As {@link #scan(ByteBuf, int, int)}, and hands every run of chunk data to {@code sink} (when not null). */
    public int scan(ByteBuf buf, int from, int end, DataSink sink) {
        int i = from;
        while (i < end) {
            switch (state) {
                case SIZE: {
                    byte b = buf.getByte(i);
                    int d = hex(b);
                    if (d >= 0) {
                        if (++sizeDigits > 15) {
                            return ERROR;
                        }
                        chunkRemaining = (chunkRemaining << 4) | d;
                        i++;
                    } else if (sizeDigits == 0) {
                        return ERROR;
                    } else if (b == ';' || b == ' ' || b == '\t') {
                        state = SIZE_EXT;
                        i++;
                    } else if (b == '\r') {
                        state = SIZE_LF;
                        i++;
                    } else {
                        return ERROR;
                    }
                    break;
                }
                case SIZE_EXT: {
                    int b = buf.getByte(i) & 0xff;
                    if (b == '\r') {
                        state = SIZE_LF;
                    } else if ((b < 0x20 && b != '\t') || b == 0x7f) {
                        return ERROR;
                    }
                    i++;
                    break;
                }
                case SIZE_LF:
                    if (buf.getByte(i++) != '\n') {
                        return ERROR;
                    }
                    total += chunkRemaining;
                    if (total > maxBody) {
                        return TOO_LARGE;
                    }
                    sizeDigits = 0;
                    state = chunkRemaining == 0 ? TRAILER_START : DATA;
                    break;
                case DATA: {
                    long n = Math.min(chunkRemaining, end - i);
                    if (sink != null && n > 0) {
                        sink.data(buf, i, (int) n);
                    }
                    i += (int) n;
                    chunkRemaining -= n;
                    if (chunkRemaining == 0) {
                        state = DATA_CR;
                    }
                    break;
                }
                case DATA_CR:
                    if (buf.getByte(i++) != '\r') {
                        return ERROR;
                    }
                    state = DATA_LF;
                    break;
                case DATA_LF:
                    if (buf.getByte(i++) != '\n') {
                        return ERROR;
                    }
                    state = SIZE;
                    break;
                case TRAILER_START: {
                    byte b = buf.getByte(i++);
                    if (b == '\r') {
                        state = LAST_LF;
                    } else if (Ascii.isTchar(b)) {
                        state = TRAILER_LINE;
                    } else {
                        return ERROR;
                    }
                    break;
                }
                case TRAILER_LINE: {
                    int b = buf.getByte(i++) & 0xff;
                    if (b == '\r') {
                        state = TRAILER_LF;
                    } else if ((b < 0x20 && b != '\t') || b == 0x7f) {
                        return ERROR;
                    }
                    break;
                }
                case TRAILER_LF:
                    if (buf.getByte(i++) != '\n') {
                        return ERROR;
                    }
                    state = TRAILER_START;
                    break;
                case LAST_LF:
                    if (buf.getByte(i++) != '\n') {
                        return ERROR;
                    }
                    state = DONE;
                    return i;
                default:
                    return i;
            }
        }
        return i;
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
}
