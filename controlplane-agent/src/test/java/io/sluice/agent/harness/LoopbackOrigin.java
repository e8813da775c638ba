package io.sluice.agent.harness;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An HTTP/1.1 origin on 127.0.0.1 (ephemeral port) for tests and benchmarks: keep-alive, Content-Length bodies, and
 * {@code Upgrade} requests switched to a byte echo (a WebSocket-like tunnel). Each answer is
 * {@code origin=NAME path=PATH body=N}, so a client can tell which endpoint served it. One virtual thread per
 * connection; it stays up until {@link #close()} whatever the route table says, as a pod that is being removed from
 * the endpoints keeps serving its in-flight requests.
 */
public final class LoopbackOrigin implements AutoCloseable {
    private final String name;
    private final ServerSocket server;
    private final Thread acceptor;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong requests = new AtomicLong();
    private final AtomicLong tunnels = new AtomicLong();
    private volatile boolean closed;

    private LoopbackOrigin(String name) throws IOException {
        this.name = Objects.requireNonNull(name, "name");
        this.server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofPlatform().daemon().name("origin-" + name).unstarted(this::acceptLoop);
    }

    public static LoopbackOrigin start(String name) throws IOException {
        LoopbackOrigin o = new LoopbackOrigin(name);
        o.acceptor.start();
        return o;
    }

    public String name() {
        return name;
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Requests answered (tunnels not counted). */
    public long requests() {
        return requests.get();
    }

    public long tunnels() {
        return tunnels.get();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                open.add(s);
                Thread.ofVirtual().name("origin-" + name + "-conn").start(() -> serve(s));
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("origin " + name + ": accept failed: " + e);
                }
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream(), 16 * 1024);
            OutputStream out = s.getOutputStream();
            while (true) {
                Head head = Head.read(in);
                if (head == null) {
                    return; // the client (the proxy) closed a keep-alive connection: normal
                }
                String upgrade = head.header("upgrade");
                if (upgrade != null && head.connectionHas("upgrade")) {
                    tunnels.incrementAndGet();
                    out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + upgrade
                        + "\r\nConnection: Upgrade\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    in.transferTo(out); // echo until the client closes; transferTo flushes nothing: unbuffered out
                    return;
                }
                long length = head.contentLength();
                in.skipNBytes(length);
                byte[] body = ("origin=" + name + " path=" + head.target() + " body=" + length + "\n")
                    .getBytes(StandardCharsets.US_ASCII);
                boolean close = head.connectionHas("close");
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Origin: " + name + "\r\nContent-Length: "
                    + body.length + (close ? "\r\nConnection: close" : "") + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
                requests.incrementAndGet();
                if (close) {
                    return;
                }
            }
        } catch (IOException e) {
            // connection reset by the proxy, or closing: the client side of a test reports what matters
        } finally {
            open.remove(s);
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        for (Socket s : open) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    /** A request head, read from a blocking stream. */
    record Head(String method, String target, String headers) {
        /** Reads one head; null on a clean end of stream before its first byte. */
        static Head read(InputStream in) throws IOException {
            StringBuilder sb = new StringBuilder(256);
            int state = 0; // counts CR LF CR LF
            while (state < 4) {
                int b = in.read();
                if (b < 0) {
                    if (sb.isEmpty()) {
                        return null;
                    }
                    throw new IOException("end of stream inside a request head");
                }
                sb.append((char) b);
                state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
                    ? state + 1 : (b == '\r' ? 1 : 0);
            }
            int eol = sb.indexOf("\r\n");
            String[] line = sb.substring(0, eol).split(" ", 3);
            if (line.length != 3) {
                throw new IOException("bad request line: " + sb.substring(0, eol));
            }
            return new Head(line[0], line[1], sb.substring(eol + 2).toLowerCase(Locale.ROOT));
        }

        String header(String lowerName) {
            int at = 0;
            while (true) {
                int i = headers.indexOf(lowerName + ":", at);
                if (i < 0) {
                    return null;
                }
                if (i == 0 || headers.charAt(i - 1) == '\n') {
                    int end = headers.indexOf("\r\n", i);
                    return headers.substring(i + lowerName.length() + 1, end).trim();
                }
                at = i + 1;
            }
        }

        boolean connectionHas(String token) {
            String c = header("connection");
            if (c == null) {
                return false;
            }
            for (String t : c.split(",")) {
                if (t.trim().equals(token)) {
                    return true;
                }
            }
            return false;
        }

        long contentLength() throws IOException {
            String v = header("content-length");
            if (v == null) {
                if (header("transfer-encoding") != null) {
                    throw new IOException("chunked request bodies are not used by these tests");
                }
                return 0;
            }
            return Long.parseLong(v);
        }
    }
}
