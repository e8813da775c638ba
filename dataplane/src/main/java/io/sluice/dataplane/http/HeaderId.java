package io.sluice.dataplane.http;

import io.netty.buffer.ByteBuf;

/**
 * Recognises the header names the proxy acts on, by length and case-insensitive byte comparison: no String is made.
 * Everything else is {@link #OTHER} and is forwarded byte for byte.
 */
public final class HeaderId {
    public static final byte OTHER = 0;
    public static final byte HOST = 1;
    public static final byte CONTENT_LENGTH = 2;
    public static final byte TRANSFER_ENCODING = 3;
    public static final byte CONNECTION = 4;
    public static final byte KEEP_ALIVE = 5;
    public static final byte PROXY_CONNECTION = 6;
    public static final byte TE = 7;
    public static final byte TRAILER = 8;
    public static final byte UPGRADE = 9;
    public static final byte EXPECT = 10;
    public static final byte X_FORWARDED_FOR = 11;
    public static final byte X_FORWARDED_PROTO = 12;
    public static final byte X_FORWARDED_HOST = 13;
    public static final byte X_FORWARDED_PORT = 14;
    /** Set by the proxy from the client certificate; a client's own copy is always dropped. */
    public static final byte SSL_CLIENT_VERIFY = 15;
    public static final byte SSL_CLIENT_SUBJECT_DN = 16;

    private static final byte[][] NAMES = {
        null,
        ascii("host"), ascii("content-length"), ascii("transfer-encoding"), ascii("connection"),
        ascii("keep-alive"), ascii("proxy-connection"), ascii("te"), ascii("trailer"), ascii("upgrade"),
        ascii("expect"), ascii("x-forwarded-for"), ascii("x-forwarded-proto"), ascii("x-forwarded-host"),
        ascii("x-forwarded-port"), ascii("ssl-client-verify"), ascii("ssl-client-subject-dn"),
    };

    private HeaderId() {
    }

    static byte[] ascii(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** Identifies the header name at {@code [start, start+len)}. */
    public static byte identify(ByteBuf buf, int start, int len) {
        // Dispatch on length first: most names are rejected by one comparison of ints.
        switch (len) {
            case 2: return eq(buf, start, len, TE) ? TE : OTHER;
            case 4: return eq(buf, start, len, HOST) ? HOST : OTHER;
            case 6: return eq(buf, start, len, EXPECT) ? EXPECT : OTHER;
            case 7:
                if (eq(buf, start, len, UPGRADE)) {
                    return UPGRADE;
                }
                return eq(buf, start, len, TRAILER) ? TRAILER : OTHER;
            case 10:
                if (eq(buf, start, len, CONNECTION)) {
                    return CONNECTION;
                }
                return eq(buf, start, len, KEEP_ALIVE) ? KEEP_ALIVE : OTHER;
            case 14: return eq(buf, start, len, CONTENT_LENGTH) ? CONTENT_LENGTH : OTHER;
            case 15: return eq(buf, start, len, X_FORWARDED_FOR) ? X_FORWARDED_FOR : OTHER;
            case 16:
                if (eq(buf, start, len, PROXY_CONNECTION)) {
                    return PROXY_CONNECTION;
                }
                if (eq(buf, start, len, X_FORWARDED_HOST)) {
                    return X_FORWARDED_HOST;
                }
                return eq(buf, start, len, X_FORWARDED_PORT) ? X_FORWARDED_PORT : OTHER;
            case 17:
                if (eq(buf, start, len, TRANSFER_ENCODING)) {
                    return TRANSFER_ENCODING;
                }
                if (eq(buf, start, len, X_FORWARDED_PROTO)) {
                    return X_FORWARDED_PROTO;
                }
                return eq(buf, start, len, SSL_CLIENT_VERIFY) ? SSL_CLIENT_VERIFY : OTHER;
            case 21: return eq(buf, start, len, SSL_CLIENT_SUBJECT_DN) ? SSL_CLIENT_SUBJECT_DN : OTHER;
            default: return OTHER;
        }
    }

    private static boolean eq(ByteBuf buf, int start, int len, byte id) {
        return Ascii.equalsIgnoreCase(buf, start, len, NAMES[id]);
    }

    /**
     * True for the hop-by-hop fields of RFC 9110 §7.6.1 that the proxy drops and regenerates. Transfer-Encoding is
     * not among them here: chunked bodies are forwarded as they are, so their framing header goes with them.
     */
    public static boolean isHopByHop(byte id) {
        return id == CONNECTION || id == KEEP_ALIVE || id == PROXY_CONNECTION || id == TE || id == UPGRADE;
    }
}
