package io.sluice.dataplane.config;

/** What a shard's event loop does when it has no work. */
public enum IdleMode {
    /** Block in epoll_wait: no CPU burnt while idle; the right choice on shared cores (and CI). */
    BLOCK,
    /** Poll without blocking for a while, then yield, then block: lower wake-up latency, some CPU when idle. */
    BACKOFF,
    /** Busy-poll epoll forever: lowest latency, one core at 100% always. Only on isolated, pinned cores. */
    SPIN;

    public static IdleMode parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "block" -> BLOCK;
            case "backoff" -> BACKOFF;
            case "spin", "busy-spin" -> SPIN;
            default -> throw new IllegalArgumentException("unknown idle mode '" + s + "' (block, backoff, spin)");
        };
    }
}
