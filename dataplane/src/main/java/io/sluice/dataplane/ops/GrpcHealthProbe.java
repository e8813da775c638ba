package io.sluice.dataplane.ops;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A minimal gRPC health client ({@code grpc.health.v1.Health/Check}, empty service name: the server as a whole) over
 * cleartext HTTP/2 with prior knowledge, on a blocking socket, for the health thread. It writes the preface, an empty
 * SETTINGS, one HEADERS frame (HPACK literals without Huffman coding or indexing, so no encoder state is needed) and one
 * DATA frame with the empty request; then reads frames, acknowledging the server's SETTINGS, until the response
 * message: {@code HealthCheckResponse.status} (field 1) must be {@code SERVING} (1). A trailers-only answer (an error
 * status such as UNIMPLEMENTED), RST_STREAM or GOAWAY is a failure. The response headers themselves are not decoded.
 */
final class GrpcHealthProbe {
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final int DATA = 0;
    private static final int HEADERS = 1;
    private static final int RST_STREAM = 3;
    private static final int SETTINGS = 4;
    private static final int PING = 6;
    private static final int GOAWAY = 7;

    private GrpcHealthProbe() {
    }

    /** @return null when SERVING, else why not */
    static String check(InetSocketAddress address, String authority, int timeoutMs) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(address, timeoutMs);
            s.setSoTimeout(timeoutMs);
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            out.write(PREFACE);
            frame(out, SETTINGS, 0, 0, new byte[0]);
            frame(out, HEADERS, 0x4, 1, headerBlock(authority)); // END_HEADERS
            frame(out, DATA, 0x1, 1, new byte[] {0, 0, 0, 0, 0}); // END_STREAM; uncompressed, empty message
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
            while (System.nanoTime() < deadline) {
                int len = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedByte();
                int stream = in.readInt() & 0x7fffffff;
                if (len > 1 << 20) {
                    return "frame too large";
                }
                byte[] payload = in.readNBytes(len);
                switch (type) {
                    case SETTINGS -> {
                        if ((flags & 0x1) == 0) {
                            frame(out, SETTINGS, 0x1, 0, new byte[0]); // ACK
                            out.flush();
                        }
                    }
                    case PING -> {
                        if ((flags & 0x1) == 0) {
                            frame(out, PING, 0x1, 0, payload);
                            out.flush();
                        }
                    }
                    case GOAWAY -> {
                        return "GOAWAY";
                    }
                    case RST_STREAM -> {
                        if (stream == 1) {
                            return "RST_STREAM";
                        }
                    }
                    case HEADERS -> {
                        if (stream == 1 && (flags & 0x1) != 0) {
                            return "no response message (trailers only: an error status)";
                        }
                    }
                    case DATA -> {
                        if (stream == 1) {
                            return servingStatus(payload, (flags & 0x8) != 0);
                        }
                    }
                    default -> {
                        // WINDOW_UPDATE, PRIORITY, ...: nothing to do
                    }
                }
            }
            return "timed out";
        }
    }

    /** Parses the gRPC message in a DATA payload. */
    private static String servingStatus(byte[] p, boolean padded) {
        int off = 0;
        int end = p.length;
        if (padded) {
            int pad = p[0] & 0xff;
            off = 1;
            end -= pad;
        }
        if (end - off < 5) {
            return "short gRPC message";
        }
        int msgLen = ((p[off + 1] & 0xff) << 24) | ((p[off + 2] & 0xff) << 16) | ((p[off + 3] & 0xff) << 8)
            | (p[off + 4] & 0xff);
        int i = off + 5;
        int msgEnd = Math.min(end, i + msgLen);
        int status = 0; // UNKNOWN when the field is absent (proto3 default)
        while (i < msgEnd) {
            int tag = p[i++] & 0xff;
            if (tag == 0x08 && i < msgEnd) {
                status = p[i++] & 0x7f;
            } else {
                return "unexpected field in HealthCheckResponse";
            }
        }
        return status == 1 ? null : "status " + switch (status) {
            case 0 -> "UNKNOWN";
            case 2 -> "NOT_SERVING";
            case 3 -> "SERVICE_UNKNOWN";
            default -> Integer.toString(status);
        };
    }

    private static byte[] headerBlock(String authority) {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.write(0x83); // :method POST (static table 3)
        b.write(0x86); // :scheme http (static table 6)
        literal(b, 4, "/grpc.health.v1.Health/Check"); // :path, name from static table 4
        literal(b, 1, authority); // :authority
        literal(b, 31, "application/grpc"); // content-type
        b.write(0x00); // te: trailers, literal name
        string(b, "te");
        string(b, "trailers");
        return b.toByteArray();
    }

    /** Literal header field without indexing, indexed name (RFC 7541 §6.2.2), 4-bit prefix integer. */
    private static void literal(java.io.ByteArrayOutputStream b, int nameIndex, String value) {
        if (nameIndex < 15) {
            b.write(nameIndex);
        } else {
            b.write(0x0f);
            b.write(nameIndex - 15);
        }
        string(b, value);
    }

    private static void string(java.io.ByteArrayOutputStream b, String v) {
        byte[] bytes = v.getBytes(StandardCharsets.US_ASCII);
        int n = bytes.length; // 7-bit prefix, no Huffman
        if (n < 127) {
            b.write(n);
        } else {
            b.write(0x7f);
            n -= 127;
            while (n >= 128) {
                b.write((n & 0x7f) | 0x80);
                n >>>= 7;
            }
            b.write(n);
        }
        b.write(bytes, 0, bytes.length);
    }

    private static void frame(OutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
        int n = payload.length;
        out.write(new byte[] {(byte) (n >>> 16), (byte) (n >>> 8), (byte) n, (byte) type, (byte) flags,
            (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream});
        out.write(payload);
    }
}
