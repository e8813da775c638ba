package io.sluice.dataplane.route;

/**
 * What a match resolves to: a backend index and, for explain and logs, the rule that chose it. Made once per rule
 * when the router is compiled; matching returns these shared instances and never allocates.
 */
public final class Route {
    public final int backend;
    /** The host block that matched ({@code ""} for the any-host block, {@code null} for the default backend). */
    public final String host;
    /** The rule's path and type, e.g. {@code Prefix /api}, or {@code default backend}. */
    public final String rule;
    public final String source;
    /** Index of the host in the table's host list ({@code RouteTable.hosts()}), -1 for the default backend. */
    public final int hostIndex;

    Route(int backend, String host, String rule, String source, int hostIndex) {
        this.backend = backend;
        this.hostIndex = hostIndex;
        this.host = host;
        this.rule = rule;
        this.source = source;
    }

    @Override
    public String toString() {
        return (host == null ? "" : "host '" + host + "' ") + rule + " -> backend #" + backend
            + (source.isEmpty() ? "" : " (" + source + ")");
    }
}
