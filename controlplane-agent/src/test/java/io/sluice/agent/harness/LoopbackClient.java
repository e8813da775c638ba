package io.sluice.agent.harness;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One keep-alive HTTP/1.1 connection to 127.0.0.1:port, blocking, with a read timeout so that a hang is an error and
 * never a stuck test. Any {@link IOException} means the connection broke (or the server answered nonsense); a
 * connection the server closes after a response ({@code Connection: close}) is reported by {@link #isOpen()}.
 */
public final class LoopbackClient implements AutoCloseable {
    /** A response: status, headers (lower-case names, last value wins), body as text. */
    public record Response(int status, Map<String, String> headers, String body) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private boolean open = true;

    public LoopbackClient(int port, int readTimeoutMs) throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(readTimeoutMs);
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), readTimeoutMs);
        in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
        out = socket.getOutputStream();
    }

    public boolean isOpen() {
        return open;
    }

    public Response get(String host, String path) throws IOException {
        return send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n", null);
    }

    public Response post(String host, String path, byte[] body) throws IOException {
        return send("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/octet-stream\r\n"
            + "Content-Length: " + body.length + "\r\n\r\n", body);
    }

    private Response send(String head, byte[] body) throws IOException {
        if (!open) {
            throw new IOException("connection already closed by the server");
        }
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        if (body == null) {
            out.write(h);
        } else {
            byte[] all = new byte[h.length + body.length];
            System.arraycopy(h, 0, all, 0, h.length);
            System.arraycopy(body, 0, all, h.length, body.length);
            out.write(all);
        }
        out.flush();
        return readResponse();
    }

    /** Sends an Upgrade request and reads the 101; afterwards the connection is a byte tunnel ({@link #echo}). */
    public Response upgrade(String host, String path) throws IOException {
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        int status = statusLine();
        Map<String, String> headers = headers();
        return new Response(status, headers, "");
    }

    /** Writes {@code text} into a tunnel whose far end echoes, and returns what comes back (as many bytes). */
    public String echo(String text) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        out.write(b);
        out.flush();
        return new String(readN(b.length), StandardCharsets.US_ASCII);
    }

    private Response readResponse() throws IOException {
        int status = statusLine();
        Map<String, String> headers = headers();
        byte[] body;
        String te = headers.get("transfer-encoding");
        String cl = headers.get("content-length");
        if (status / 100 == 1 || status == 204 || status == 304) {
            body = new byte[0];
        } else if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            body = chunked();
        } else if (cl != null) {
            body = readN(Integer.parseInt(cl.trim()));
        } else {
            body = in.readAllBytes(); // delimited by close
            open = false;
        }
        String conn = headers.get("connection");
        if (conn != null && conn.toLowerCase(Locale.ROOT).contains("close")) {
            open = false;
        }
        return new Response(status, headers, new String(body, StandardCharsets.UTF_8));
    }

    private int statusLine() throws IOException {
        String line = line();
        if (!line.startsWith("HTTP/1.") || line.length() < 12) {
            throw new IOException("bad status line '" + line + "'");
        }
        return Integer.parseInt(line.substring(9, 12));
    }

    private Map<String, String> headers() throws IOException {
        Map<String, String> m = new HashMap<>();
        String line;
        while (!(line = line()).isEmpty()) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IOException("bad header line '" + line + "'");
            }
            m.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
        }
        return m;
    }

    private byte[] chunked() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line();
            int semi = size.indexOf(';');
            int n = Integer.parseInt((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
            if (n == 0) {
                while (!line().isEmpty()) {
                    // trailers
                }
                return body.toByteArray();
            }
            body.write(readN(n));
            if (!line().isEmpty()) {
                throw new IOException("chunk not followed by CRLF");
            }
        }
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder(64);
        while (true) {
            int b = in.read();
            if (b < 0) {
                open = false;
                throw new EOFException("connection closed by the server" + (sb.isEmpty() ? "" : " mid-line"));
            }
            if (b == '\n') {
                int len = sb.length();
                if (len > 0 && sb.charAt(len - 1) == '\r') {
                    sb.setLength(len - 1);
                }
                return sb.toString();
            }
            sb.append((char) b);
        }
    }

    private byte[] readN(int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            open = false;
            throw new EOFException("connection closed by the server after " + b.length + " of " + n + " bytes");
        }
        return b;
    }

    @Override
    public void close() {
        open = false;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
