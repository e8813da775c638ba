package io.sluice.dataplane.steering;

import io.netty.channel.Channel;
import io.sluice.dataplane.config.DataPlaneConfig;
import io.sluice.dataplane.shard.CpuAffinity;
import io.sluice.nictuning.CoreMap;
import io.sluice.nictuning.rss.RssTable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The steering of one data plane, decided once at start on the starting thread:
 * <ol>
 *   <li>{@link #resolve}: reads the core map (the configured file, else nic-tuning's default path if it exists),
 *       chooses the shard CPUs ({@code cpus:} wins, then the core map's, then every CPU the process may use) and the
 *       mode ({@code auto} becomes {@code cbpf} when the kernel accepts the program, else {@code acceptor});</li>
 *   <li>the data plane builds its shards, asking {@link #shardsListen()} whether they bind their own SO_REUSEPORT
 *       listeners and {@link #portChooser} for each shard's RSS-aware upstream ports;</li>
 *   <li>{@link #engage}, once every shard is listening: attaches the CPU program to each port's reuseport group
 *       (the group's order is the shards' bind order), or starts the {@link Acceptor}. If the kernel refuses the
 *       program after all, {@code auto} falls back to the acceptor there and then.</li>
 * </ol>
 * The plan then only reports ({@link #summary}, {@link #localityShare}) until {@link #close} stops the acceptor.
 */
public final class SteeringPlan implements AutoCloseable {
    /** The {@code coreMap:} value that disables reading one. */
    public static final String NO_CORE_MAP = "none";
    private static final int HANDOFF_RING_SIZE = 1024;

    private final DataPlaneConfig config;
    private final CoreMap coreMap;
    private final String coreMapSource;
    private final int[] cpus;
    private final SteeringMode requested;
    private final int[] portRange;
    private final List<String> notes = new ArrayList<>();
    private SteeringMode mode;
    private Acceptor acceptor;

    private SteeringPlan(DataPlaneConfig config, CoreMap coreMap, String coreMapSource, int[] cpus,
                         SteeringMode requested, SteeringMode mode, int[] portRange, List<String> notes) {
        this.config = config;
        this.coreMap = coreMap;
        this.coreMapSource = coreMapSource;
        this.cpus = cpus;
        this.requested = requested;
        this.mode = mode;
        this.portRange = portRange;
        this.notes.addAll(notes);
    }

    /**
     * Decides CPUs and mode for {@code config}.
     *
     * @throws IllegalStateException when {@code steering: cbpf} is asked for and the kernel refuses the program
     */
    public static SteeringPlan resolve(DataPlaneConfig config) {
        List<String> notes = new ArrayList<>();
        CoreMap map = null;
        String source;
        String file = config.coreMap();
        if (NO_CORE_MAP.equals(file)) {
            source = "none";
        } else {
            Path p = Path.of(file != null ? file : CoreMap.DEFAULT_PATH);
            source = p.toString();
            if (file != null || Files.exists(p)) {
                try {
                    map = CoreMap.read(p);
                } catch (IOException | RuntimeException e) {
                    String why = e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage();
                    notes.add("core map " + p + " not used (" + why + ")");
                    source = "none";
                }
            } else {
                source = "none";
            }
        }
        int[] cpus;
        if (config.cpus() != null) {
            cpus = config.cpus().clone();
            if (map != null && !Arrays.equals(cpus, map.cpus())) {
                notes.add("cpus " + Arrays.toString(cpus) + " override the core map's " + Arrays.toString(map.cpus()));
            }
        } else if (map != null) {
            cpus = map.cpus();
        } else {
            cpus = CpuAffinity.processCpus();
        }
        SteeringMode requested = config.steering();
        SteeringMode mode = requested;
        boolean shared = Arrays.stream(cpus).distinct().count() != cpus.length;
        if (shared && requested == SteeringMode.CBPF) {
            throw new IllegalStateException("steering: cbpf needs one shard per CPU, got CPUs " + Arrays.toString(cpus));
        }
        if (shared && requested == SteeringMode.AUTO) {
            // Two shards on one CPU: a CPU cannot name one listener, so the kernel's hash spreads them.
            mode = SteeringMode.NONE;
            notes.add("shards share CPUs " + Arrays.toString(cpus) + ": no CPU steering");
        } else if (requested == SteeringMode.CBPF || requested == SteeringMode.AUTO) {
            String refused = KernelSteering.probeCbpf();
            if (refused != null) {
                if (requested == SteeringMode.CBPF) {
                    throw new IllegalStateException("steering: cbpf: the kernel refuses SO_ATTACH_REUSEPORT_CBPF ("
                        + refused + "); use steering: acceptor or auto");
                }
                mode = cpus.length > 1 ? SteeringMode.ACCEPTOR : SteeringMode.NONE;
                notes.add("kernel steering unavailable (" + refused + ")");
            } else {
                mode = SteeringMode.CBPF;
            }
        }
        return new SteeringPlan(config, map, source, cpus, requested, mode, localPortRange(), notes);
    }

    /** CPU of each shard, in shard order. */
    public int[] cpus() {
        return cpus.clone();
    }

    /** The core map in use, or null. */
    public CoreMap coreMap() {
        return coreMap;
    }

    /** The mode in effect (after {@link #engage}, possibly the acceptor fallback of {@code auto}). */
    public SteeringMode mode() {
        return mode;
    }

    /** Whether each shard binds its own SO_REUSEPORT listening sockets (all modes but the acceptor). */
    public boolean shardsListen() {
        return mode != SteeringMode.ACCEPTOR;
    }

    /** Whether upstream connects choose RSS-aware local ports: a core map with RSS, and steering not {@code none}. */
    public boolean rssConnects() {
        return coreMap != null && coreMap.hasRss() && requested != SteeringMode.NONE;
    }

    /**
     * A new RSS-aware port chooser for shard {@code shard} (on CPU {@code cpus()[shard]}), or null when upstream
     * connects keep ephemeral ports: no RSS in the core map, steering {@code none}, or no core-map shard on that CPU.
     */
    public RssPortChooser portChooser(int shard, SteeringStats stats) {
        if (!rssConnects()) {
            return null;
        }
        int mapShard = coreMap.shardOfCpu(cpus[shard]);
        if (mapShard < 0) {
            return null;
        }
        return new RssPortChooser(coreMap.sourcePortSolver(mapShard), portRange[0], portRange[1], stats);
    }

    /** Size of each shard's hand-off ring. */
    public int handoffRingSize() {
        return HANDOFF_RING_SIZE;
    }

    /**
     * Puts the mode in place once every shard runs (and, unless in acceptor mode, listens).
     *
     * @throws IllegalStateException when {@code cbpf} was required and the kernel refused it now
     */
    public void engage(List<? extends SteeredShard> shards) throws InterruptedException {
        if (shards.size() != cpus.length) {
            throw new IllegalArgumentException(shards.size() + " shards for " + cpus.length + " CPUs");
        }
        if (mode == SteeringMode.CBPF) {
            int[] listenerCpus = new int[shards.size()];
            for (int i = 0; i < listenerCpus.length; i++) {
                listenerCpus[i] = shards.get(i).cpu();
            }
            CpuSteeringProgram program = CpuSteeringProgram.forListenerCpus(listenerCpus);
            try {
                for (Channel listener : shards.get(0).listeners()) {
                    KernelSteering.attach(listener, program);
                }
            } catch (IOException e) {
                if (requested == SteeringMode.CBPF) {
                    throw new IllegalStateException("steering: cbpf: " + e.getMessage(), e);
                }
                notes.add("kernel steering unavailable (" + e.getMessage() + ")");
                for (SteeredShard s : shards) {
                    s.closeListeners();
                }
                mode = SteeringMode.ACCEPTOR;
            }
        }
        if (mode == SteeringMode.ACCEPTOR) {
            startAcceptor(shards);
        }
    }

    private void startAcceptor(List<? extends SteeredShard> shards) throws InterruptedException {
        HandoffRing[] rings = new HandoffRing[shards.size()];
        int[] shardCpus = new int[shards.size()];
        for (int i = 0; i < rings.length; i++) {
            rings[i] = shards.get(i).handoff();
            shardCpus[i] = shards.get(i).cpu();
        }
        RssTable rss = null;
        int[] shardOfQueue = new int[0];
        if (coreMap != null && coreMap.hasRss()) {
            rss = coreMap.rssTable();
            int maxQueue = 0;
            for (int q : coreMap.indirection()) {
                maxQueue = Math.max(maxQueue, q);
            }
            shardOfQueue = new int[maxQueue + 1];
            Arrays.fill(shardOfQueue, -1);
            for (CoreMap.Shard s : coreMap.shards()) {
                if (s.queue() <= maxQueue) {
                    shardOfQueue[s.queue()] = indexOf(shardCpus, s.cpu());
                }
            }
        }
        Acceptor a = new Acceptor(config.listeners(), rings, shardCpus, rss, shardOfQueue);
        try {
            a.start();
        } catch (Throwable t) { // a bind failure arrives here unchecked, through Netty's sync()
            a.close();
            throw t;
        }
        acceptor = a;
    }

    private static int indexOf(int[] values, int value) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] == value) {
                return i;
            }
        }
        return -1;
    }

    /** The acceptor, in acceptor mode after {@link #engage}; else null. */
    public Acceptor acceptor() {
        return acceptor;
    }

    /** Stops accepting on the acceptor's sockets (acceptor mode); the shards close their own. */
    public void stopAccepting() {
        Acceptor a = acceptor;
        if (a != null) {
            acceptor = null;
            a.close();
        }
    }

    @Override
    public void close() {
        stopAccepting();
    }

    /** Share of accepted connections, over all shards, served on the CPU that received them; NaN before any. */
    public static double localityShare(List<? extends SteeredShard> shards) {
        long on = 0;
        long off = 0;
        for (SteeredShard s : shards) {
            on += s.steeringStats().acceptedOnReceivingCpu;
            off += s.steeringStats().acceptedOffReceivingCpu;
        }
        return SteeringStats.share(on, off);
    }

    /** One line for the ready log: mode, core map, RSS-aware connects, and why anything fell back. */
    public String summary() {
        StringBuilder s = new StringBuilder("steering=").append(mode.label());
        if (mode != requested) {
            s.append(" (asked ").append(requested.label()).append(')');
        }
        s.append(", core map ");
        if (coreMap == null) {
            s.append("none");
        } else {
            s.append(coreMapSource).append(" (").append(coreMap.nic()).append(", ")
                .append(coreMap.steering().name().toLowerCase(java.util.Locale.ROOT)).append(", ")
                .append(coreMap.shardCount()).append(" shards").append(coreMap.hasRss() ? ", rss" : ", no rss")
                .append(')');
        }
        s.append(", rss-aware upstream ports ").append(rssConnects() ? "on " + portRange[0] + "-" + portRange[1] : "off");
        for (String n : notes) {
            s.append("; ").append(n);
        }
        return s.toString();
    }

    /** One line for the exit log: the locality share and the counters behind it. */
    public static String report(List<? extends SteeredShard> shards) {
        long on = 0;
        long off = 0;
        long unknown = 0;
        long rss = 0;
        long busy = 0;
        long fallbacks = 0;
        StringBuilder perShard = new StringBuilder();
        for (SteeredShard sh : shards) {
            SteeringStats st = sh.steeringStats();
            perShard.append(perShard.isEmpty() ? "" : ", ").append("cpu ").append(sh.cpu()).append(": ")
                .append(st.acceptedOnReceivingCpu).append('/')
                .append(st.acceptedOnReceivingCpu + st.acceptedOffReceivingCpu + st.acceptedCpuUnknown);
            on += st.acceptedOnReceivingCpu;
            off += st.acceptedOffReceivingCpu;
            unknown += st.acceptedCpuUnknown;
            rss += st.rssConnects;
            busy += st.rssPortsBusy;
            fallbacks += st.rssFallbacks;
        }
        double share = SteeringStats.share(on, off);
        return String.format(java.util.Locale.ROOT,
            "locality %s (%d of %d connections served on their receiving CPU, %d unknown; per shard local/all {%s}); "
                + "upstream connects from RSS-steered ports %d, busy ports skipped %d, ephemeral fallbacks %d",
            Double.isNaN(share) ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f%%", 100 * share), on, on + off,
            unknown, perShard, rss, busy, fallbacks);
    }

    /** The kernel's {@code ip_local_port_range} (where ephemeral ports come from), or Linux's default. */
    static int[] localPortRange() {
        try {
            String[] f = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
            int lo = Integer.parseInt(f[0]);
            int hi = Integer.parseInt(f[1]);
            if (lo >= 1 && hi <= 0xffff && lo <= hi) {
                return new int[] {lo, hi};
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return new int[] {32768, 60999};
    }
}
