package io.sluice.routetable;

/** How a shard picks an endpoint of a backend. Each shard runs its own balancer state: no sharing between cores. */
public enum Balancer {
    /** Endpoints in turn; weights ignored. */
    ROUND_ROBIN,
    /** Smooth weighted round robin (the interleaving nginx uses): endpoint i gets weight_i / sum of the picks. */
    WEIGHTED,
    /** Power of two choices: two random endpoints, the one with fewer requests in flight on this shard wins. */
    LEAST_REQUEST;

    /** Parses the config spelling ({@code round-robin}, {@code weighted}, {@code least-request}). */
    public static Balancer parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT).replace('_', '-')) {
            case "round-robin", "roundrobin", "rr" -> ROUND_ROBIN;
            case "weighted", "weighted-round-robin" -> WEIGHTED;
            case "least-request", "leastrequest", "p2c" -> LEAST_REQUEST;
            default -> throw new IllegalArgumentException(
                "unknown balancer '" + s + "' (expected round-robin, weighted or least-request)");
        };
    }
}
