package io.sluice.dataplane.steering;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.Socket;
import io.sluice.nictuning.rss.RssSourcePortSolver;
import io.sluice.nictuning.rss.RssTable;
import io.sluice.nictuning.rss.ToeplitzHash;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chooser with real sockets: it binds ports whose reply flow lands on the owned queue, skips ports someone else
 * holds, and falls back (counted) when none is left. Ports 61000-61031 lie above Linux's default ephemeral range.
 */
class RssPortChooserTest {
    private static final int LOOPBACK = 0x7f000001;
    private static final int MIN = 61000;
    private static final int MAX = 61031;
    private static final int UPSTREAM_PORT = 8080;
    private static final int[] TABLE = {0, 1, 2, 3, 0, 1, 2, 3};
    private static final int QUEUE = 2;

    @BeforeAll
    static void nativeEpoll() {
        Epoll.ensureAvailability();
    }

    private static RssPortChooser chooser(SteeringStats stats) {
        return new RssPortChooser(new RssSourcePortSolver(new ToeplitzHash(ToeplitzHash.microsoftKey()), TABLE, QUEUE),
            MIN, MAX, stats);
    }

    /** Every port of the range whose reply flow from 127.0.0.1:8080 the NIC puts on {@link #QUEUE}. */
    private static List<Integer> candidates() {
        RssTable t = new RssTable(new ToeplitzHash(ToeplitzHash.microsoftKey()), TABLE);
        List<Integer> out = new ArrayList<>();
        for (int p = MIN; p <= MAX; p++) {
            if (t.queueForIpv4(LOOPBACK, LOOPBACK, UPSTREAM_PORT, p) == QUEUE) {
                out.add(p);
            }
        }
        return out;
    }

    private static InetSocketAddress upstream() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), UPSTREAM_PORT);
    }

    @Test
    void bindsAPortOnTheOwnedQueue() {
        SteeringStats stats = new SteeringStats();
        RssPortChooser c = chooser(stats);
        EpollSocketChannel ch = new EpollSocketChannel();
        try {
            assertTrue(c.begin(upstream()));
            int port = c.bindNext((Socket) ch.fd());
            assertTrue(candidates().contains(port), port + " not among " + candidates());
            assertEquals(port, ((Socket) ch.fd()).localAddress().getPort());
            assertEquals(0, stats.rssFallbacks);
        } finally {
            ch.unsafe().closeForcibly();
        }
    }

    @Test
    void skipsPortsInUseAndFallsBackWhenNoneIsLeft() throws IOException {
        List<Integer> cand = candidates();
        assertTrue(cand.size() >= 2, "test range too small: " + cand);
        List<ServerSocket> held = new ArrayList<>();
        SteeringStats stats = new SteeringStats();
        RssPortChooser c = chooser(stats);
        try {
            // Someone else listens on all candidates but the last: the chooser skips them and binds the last.
            int free = cand.get(cand.size() - 1);
            for (int p : cand.subList(0, cand.size() - 1)) {
                held.add(listen(p));
            }
            EpollSocketChannel a = new EpollSocketChannel();
            try {
                assertTrue(c.begin(upstream()));
                assertEquals(free, c.bindNext((Socket) a.fd()));
                assertEquals(cand.size() - 1, stats.rssPortsBusy);
            } finally {
                a.unsafe().closeForcibly();
            }
            // Now every candidate is taken: the socket stays unbound (an ephemeral port at connect), counted.
            held.add(listen(free));
            long busyBefore = stats.rssPortsBusy;
            EpollSocketChannel b = new EpollSocketChannel();
            try {
                assertTrue(c.begin(upstream()));
                assertEquals(-1, c.bindNext((Socket) b.fd()));
                assertEquals(0, ((Socket) b.fd()).localAddress() == null ? 0 : ((Socket) b.fd()).localAddress().getPort());
                assertEquals(1, stats.rssFallbacks);
                assertEquals(cand.size(), stats.rssPortsBusy - busyBefore);
            } finally {
                b.unsafe().closeForcibly();
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    @Test
    void recognisesATakenFourTuple() {
        assertTrue(RssPortChooser.isTupleInUse(new IOException("x", new java.net.ConnectException(
            "connect(..) failed: Cannot assign requested address"))));
        assertFalse(RssPortChooser.isTupleInUse(new java.net.ConnectException("connect(..) failed: Connection refused")));
    }

    @Test
    void findsTheSourceAddressTheKernelRoutesFrom() {
        assertEquals(InetAddress.getLoopbackAddress(), RssPortChooser.routeSource(InetAddress.getLoopbackAddress()));
    }

    private static ServerSocket listen(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        return s;
    }
}
