package io.sluice.dataplane.steering;

import io.netty.channel.unix.Errors;
import io.netty.channel.unix.Socket;
import io.sluice.nictuning.rss.RssSourcePortSolver;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.DatagramChannel;
import java.util.HashMap;
import java.util.Objects;

/**
 * RSS-aware upstream connects for one shard: binds each new upstream socket, before it connects, to a local port
 * whose reply flow the NIC hashes onto a queue this shard owns, so the upstream's answers are received (interrupt,
 * softirq, socket) on the shard's own core. The ports come from {@link RssSourcePortSolver}, which solves the
 * Toeplitz hash for them instead of trying ports at random.
 *
 * <p>A reply's hash input is (upstream address, our address, upstream port, our port), so the chooser needs the
 * local address the kernel will use towards the upstream: it asks the routing table once per upstream address (a
 * connected UDP socket's local address; no packet is sent) and caches it. It binds that address and the port with
 * {@code SO_REUSEADDR}, which lets several upstream connections share a local port as long as their 4-tuples differ
 * (as an ephemeral connect would).
 *
 * <p>Graceful fallback: a port bound by someone else (EADDRINUSE) is skipped; a port whose 4-tuple is taken makes the
 * connect fail at once with EADDRNOTAVAIL, and the shard retries on a new socket with the next port
 * ({@link #tupleBusy}). After {@link #MAX_ATTEMPTS} busy ports, when the solver has no port left in the range, or when
 * the local address is unknown, the socket is left unbound and connects from an ordinary ephemeral port (its replies
 * then arrive wherever the NIC puts them). Each case is counted in {@link SteeringStats}.
 *
 * <p>Shard-confined (one instance per shard, used on its thread). Per connection it allocates the bound
 * {@code InetSocketAddress}; nothing per request.
 */
public final class RssPortChooser {
    /** Candidate ports tried for one connection before falling back to an ephemeral port. */
    public static final int MAX_ATTEMPTS = 32;
    private static final int EADDRNOTAVAIL = 99;

    private final RssSourcePortSolver solver;
    private final int portMin;
    private final int portMax;
    private final SteeringStats stats;
    private final HashMap<InetAddress, InetAddress> sourceOf = new HashMap<>();

    // The search in progress.
    private InetAddress remote;
    private InetAddress local;
    private int attemptsLeft;

    /**
     * @param solver this shard's solver (its own: it keeps a cursor)
     * @param portMin lowest local port to use (normally the kernel's {@code ip_local_port_range})
     * @param portMax highest local port to use
     * @param stats the shard's counters
     */
    public RssPortChooser(RssSourcePortSolver solver, int portMin, int portMax, SteeringStats stats) {
        this.solver = Objects.requireNonNull(solver, "solver");
        if (portMin < 1 || portMax > 0xffff || portMin > portMax) {
            throw new IllegalArgumentException("bad port range " + portMin + "-" + portMax);
        }
        this.portMin = portMin;
        this.portMax = portMax;
        this.stats = Objects.requireNonNull(stats, "stats");
    }

    public int portMin() {
        return portMin;
    }

    public int portMax() {
        return portMax;
    }

    /**
     * Starts choosing for a connection to {@code upstream}. Returns false (counted as a fallback) when no choice is
     * possible: the caller connects from an ephemeral port.
     */
    public boolean begin(InetSocketAddress upstream) {
        InetAddress ra = upstream.getAddress();
        InetAddress la = ra == null ? null : sourceAddress(ra);
        if (la instanceof Inet4Address && ra instanceof Inet4Address) {
            solver.startIpv4(Addresses.ipv4(ra), Addresses.ipv4(la), upstream.getPort(), portMin, portMax);
        } else if (la instanceof Inet6Address && ra instanceof Inet6Address) {
            byte[] rb = ra.getAddress();
            byte[] lb = la.getAddress();
            solver.startIpv6(Addresses.high(rb), Addresses.low(rb), Addresses.high(lb), Addresses.low(lb),
                upstream.getPort(), portMin, portMax);
        } else {
            stats.rssFallbacks++;
            return false;
        }
        remote = ra;
        local = la;
        attemptsLeft = MAX_ATTEMPTS;
        return true;
    }

    /**
     * Binds {@code socket} (open, unbound) to the next candidate port of the search {@link #begin} started. Returns
     * the port, or -1 when the socket was left unbound (counted): connect it from an ephemeral port.
     */
    public int bindNext(Socket socket) {
        if (local == null) {
            stats.rssFallbacks++;
            return -1;
        }
        try {
            socket.setReuseAddress(true);
        } catch (IOException e) {
            stats.rssFallbacks++;
            return -1;
        }
        int port;
        while (attemptsLeft > 0 && (port = solver.nextPort()) >= 0) {
            attemptsLeft--;
            try {
                socket.bind(new InetSocketAddress(local, port));
                return port;
            } catch (IOException e) {
                if (e instanceof Errors.NativeIoException n && n.expectedErr() == -EADDRNOTAVAIL) {
                    // Our source address is no longer local (an interface went away): look it up afresh next time.
                    sourceOf.remove(remote);
                    break;
                }
                stats.rssPortsBusy++;
            }
        }
        local = null;
        stats.rssFallbacks++;
        return -1;
    }

    /** The connect from the port last bound failed at once because its 4-tuple is in use: counts it. */
    public void tupleBusy() {
        stats.rssPortsBusy++;
    }

    /**
     * Whether a connect failure means "this 4-tuple is taken" (EADDRNOTAVAIL from connect(2) on a bound socket). Netty
     * does not expose a connect error's errno, so the message (glibc's or musl's strerror) is matched.
     */
    public static boolean isTupleInUse(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && (m.contains("Cannot assign requested address") || m.contains("Address not available"))) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /** The local address the kernel routes from towards {@code upstream}, cached; null when there is no route. */
    InetAddress sourceAddress(InetAddress upstream) {
        InetAddress cached = sourceOf.get(upstream);
        if (cached != null) {
            return cached;
        }
        InetAddress found = routeSource(upstream);
        if (found != null) {
            sourceOf.put(upstream, found);
        }
        return found;
    }

    /** Asks the routing table: the local address of a UDP socket connected to {@code upstream} (nothing is sent). */
    static InetAddress routeSource(InetAddress upstream) {
        StandardProtocolFamily family = upstream instanceof Inet4Address ? StandardProtocolFamily.INET
            : StandardProtocolFamily.INET6;
        try (DatagramChannel probe = DatagramChannel.open(family)) {
            probe.connect(new InetSocketAddress(upstream, 9));
            if (probe.getLocalAddress() instanceof InetSocketAddress a && !a.getAddress().isAnyLocalAddress()) {
                return a.getAddress();
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
