package io.sluice.dataplane.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** Blocking TCP and UDP origins on loopback for the L4 tests. */
final class L4Origins {
    private L4Origins() {
    }

    /** What a TCP origin does with one connection. */
    interface Handler {
        void handle(Socket s, InputStream in, OutputStream out) throws Exception;
    }

    /** Echoes every byte; on the client's EOF, shuts its own output (half-close passes through). */
    static final Handler ECHO = (s, in, out) -> {
        byte[] buf = new byte[256 * 1024];
        for (int n; (n = in.read(buf)) > 0; ) {
            out.write(buf, 0, n);
        }
        s.shutdownOutput();
    };

    static final class Tcp implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger connections = new AtomicInteger();
        final List<Socket> open = new CopyOnWriteArrayList<>();
        private final ExecutorService pool = Executors.newCachedThreadPool();
        volatile Handler handler;

        Tcp(Handler handler) throws IOException {
            this.handler = handler;
            server = new ServerSocket();
            server.bind(new InetSocketAddress("127.0.0.1", 0), 1024);
            pool.submit(() -> {
                while (!server.isClosed()) {
                    Socket s;
                    try {
                        s = server.accept();
                    } catch (IOException e) {
                        return;
                    }
                    connections.incrementAndGet();
                    open.add(s);
                    pool.submit(() -> {
                        try (s) {
                            handler.handle(s, s.getInputStream(), s.getOutputStream());
                        } catch (Exception ignored) {
                            // the test decides what a failure means
                        } finally {
                            open.remove(s);
                        }
                    });
                }
            });
        }

        int port() {
            return server.getLocalPort();
        }

        String endpoint() {
            return "127.0.0.1:" + port();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : open) {
                s.close();
            }
            pool.shutdownNow();
        }
    }

    /** UDP: answers each datagram with {@code prefix} + the datagram. */
    static final class Udp implements AutoCloseable {
        final DatagramSocket socket;
        final AtomicInteger datagrams = new AtomicInteger();
        private final Thread thread;

        Udp(byte[] prefix) throws SocketException {
            socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            thread = Thread.ofPlatform().daemon().start(() -> {
                byte[] buf = new byte[65536];
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                while (!socket.isClosed()) {
                    try {
                        p.setData(buf);
                        socket.receive(p);
                        datagrams.incrementAndGet();
                        byte[] out = new byte[prefix.length + p.getLength()];
                        System.arraycopy(prefix, 0, out, 0, prefix.length);
                        System.arraycopy(buf, 0, out, prefix.length, p.getLength());
                        socket.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        String endpoint() {
            return "127.0.0.1:" + socket.getLocalPort();
        }

        @Override
        public void close() throws InterruptedException {
            socket.close();
            thread.join(2000);
        }
    }
}
