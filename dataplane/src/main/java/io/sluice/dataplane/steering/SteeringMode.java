package io.sluice.dataplane.steering;

import java.util.Locale;

/** How new connections reach the shard on the CPU that received them ({@code steering:} / {@code --steering}). */
public enum SteeringMode {
    /** {@link #CBPF} where the kernel accepts the program, else {@link #ACCEPTOR} (a single shard needs neither). */
    AUTO,
    /**
     * Each shard listens with its own SO_REUSEPORT socket and a classic-BPF program attached to the group picks the
     * socket of the shard on the receiving CPU. Start fails if the kernel refuses the program.
     */
    CBPF,
    /**
     * One listening socket on an acceptor thread; each accepted connection goes to the shard that owns the NIC queue
     * its RSS hash names (or, without RSS information, the shard on its receiving CPU) over a Disruptor ring.
     */
    ACCEPTOR,
    /** The kernel's SO_REUSEPORT hash spreads connections over shards; no RSS-aware upstream ports. The baseline. */
    NONE;

    public static SteeringMode parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> AUTO;
            case "cbpf" -> CBPF;
            case "acceptor" -> ACCEPTOR;
            case "none", "off", "false" -> NONE; // YAML 1.1 reads a bare off as false
            default -> throw new IllegalArgumentException("unknown steering mode '" + s + "' (auto, cbpf, acceptor, none)");
        };
    }

    /** Lower-case name as written in config. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
