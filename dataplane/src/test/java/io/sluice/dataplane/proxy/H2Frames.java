package io.sluice.dataplane.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Headers;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A raw HTTP/2 client for tests: writes frames byte by byte (so it can write the malformed and abusive sequences no
 * real client library would) and reads frames back.
 */
final class H2Frames implements AutoCloseable {
    static final int DATA = 0;
    static final int HEADERS = 1;
    static final int RST_STREAM = 3;
    static final int SETTINGS = 4;
    static final int PING = 6;
    static final int GOAWAY = 7;
    static final int WINDOW_UPDATE = 8;
    static final int CONTINUATION = 9;
    static final int END_STREAM = 1;
    static final int END_HEADERS = 4;
    static final int ACK = 1;

    final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;
    private final DefaultHttp2HeadersDecoder hpack = new DefaultHttp2HeadersDecoder(false);

    record Frame(int type, int flags, int stream, byte[] payload) {
        long goAwayError() {
            return ((payload[4] & 0xffL) << 24) | ((payload[5] & 0xff) << 16) | ((payload[6] & 0xff) << 8)
                | (payload[7] & 0xff);
        }
    }

    H2Frames(int port) throws IOException {
        this(port, new byte[0]);
    }

    /** Connects, sends the preface and a SETTINGS frame with {@code settings} (6 bytes each). */
    H2Frames(int port, byte[] settings) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(5000);
        socket.setTcpNoDelay(true);
        out = socket.getOutputStream();
        in = new DataInputStream(socket.getInputStream());
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        frame(SETTINGS, 0, 0, settings);
    }

    static byte[] setting(int id, int value) {
        return new byte[] {(byte) (id >> 8), (byte) id, (byte) (value >>> 24), (byte) (value >>> 16),
            (byte) (value >>> 8), (byte) value};
    }

    void frame(int type, int flags, int stream, byte[] payload) throws IOException {
        out.write(header(type, flags, stream, payload.length));
        out.write(payload);
    }

    static byte[] header(int type, int flags, int stream, int length) {
        return new byte[] {(byte) (length >> 16), (byte) (length >> 8), (byte) length, (byte) type, (byte) flags,
            (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream};
    }

    static byte[] increment(int n) {
        return new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n};
    }

    void flush() throws IOException {
        out.flush();
    }

    /** HPACK for GET {path} on {authority}: static-table method, scheme and a literal path and authority. */
    static byte[] getBlock(String authority, String path) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x82); // :method GET
        b.write(0x86); // :scheme http
        literal(b, 0x04, path); // :path, literal without indexing, name index 4
        literal(b, 0x01, authority); // :authority, name index 1
        return b.toByteArray();
    }

    static void literal(ByteArrayOutputStream b, int nameIndex, String value) {
        b.write(nameIndex); // 0000xxxx: literal without indexing, indexed name (index < 15)
        byte[] v = value.getBytes(StandardCharsets.US_ASCII);
        writeLength(b, v.length);
        b.write(v, 0, v.length);
    }

    /** A literal header field without indexing, with a new name. */
    static void literalNew(ByteArrayOutputStream b, String name, String value) {
        b.write(0);
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        writeLength(b, n.length);
        b.write(n, 0, n.length);
        byte[] v = value.getBytes(StandardCharsets.US_ASCII);
        writeLength(b, v.length);
        b.write(v, 0, v.length);
    }

    static void writeLength(ByteArrayOutputStream b, int n) {
        if (n < 127) {
            b.write(n);
        } else {
            b.write(127);
            n -= 127;
            while (n >= 128) {
                b.write((n & 127) | 128);
                n >>>= 7;
            }
            b.write(n);
        }
    }

    void get(int stream, String authority, String path) throws IOException {
        frame(HEADERS, END_STREAM | END_HEADERS, stream, getBlock(authority, path));
    }

    /** The next frame, or null at end of stream / reset / timeout. */
    Frame read() throws IOException {
        try {
            int len = in.readUnsignedByte() << 16 | in.readUnsignedByte() << 8 | in.readUnsignedByte();
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            int stream = in.readInt() & 0x7fffffff;
            byte[] p = new byte[len];
            in.readFully(p);
            return new Frame(type, flags, stream, p);
        } catch (EOFException | SocketTimeoutException | java.net.SocketException e) {
            return null;
        }
    }

    Http2Headers decode(Frame f) throws Exception {
        ByteBuf b = Unpooled.wrappedBuffer(f.payload());
        return hpack.decodeHeaders(f.stream(), b);
    }

    /** Reads frames until {@code stream} ends; returns its :status (or -RST error code - 1000, or 0 if the connection ended). */
    int awaitStatus(int stream) throws Exception {
        int status = 0;
        Frame f;
        while ((f = read()) != null) {
            if (f.type() == SETTINGS && (f.flags() & ACK) == 0) {
                frame(SETTINGS, ACK, 0, new byte[0]);
                flush();
            } else if (f.stream() == stream && f.type() == HEADERS) {
                Http2Headers h = decode(f);
                if (h.status() != null) {
                    status = Integer.parseInt(h.status().toString());
                }
                if ((f.flags() & END_STREAM) != 0) {
                    return status;
                }
            } else if (f.type() == DATA && f.payload().length > 0) {
                // a well-behaved reader: give the window back (connection and stream)
                frame(WINDOW_UPDATE, 0, 0, increment(f.payload().length));
                if ((f.flags() & END_STREAM) == 0) {
                    frame(WINDOW_UPDATE, 0, f.stream(), increment(f.payload().length));
                }
                flush();
                if (f.stream() == stream && (f.flags() & END_STREAM) != 0) {
                    return status;
                }
            } else if (f.stream() == stream && f.type() == DATA && (f.flags() & END_STREAM) != 0) {
                return status;
            } else if (f.stream() == stream && f.type() == RST_STREAM) {
                return -1000;
            } else if (f.type() == HEADERS) {
                decode(f); // keep the HPACK state in step
            }
        }
        return 0;
    }

    /** Reads until a GOAWAY arrives (returns it) or the connection ends (returns null). */
    Frame awaitGoAway() throws IOException {
        Frame f;
        while ((f = read()) != null) {
            if (f.type() == GOAWAY) {
                return f;
            }
        }
        return null;
    }

    /** Whether the server closed the connection (reads until end of stream, up to the socket timeout). */
    boolean closedByServer() throws IOException {
        try {
            byte[] buf = new byte[8192];
            while (true) {
                if (socket.getInputStream().read(buf) < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
