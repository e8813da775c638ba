package io.sluice.dataplane.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The label sets of per-route metrics, numbered once for the life of the process. A compiled table asks for the number
 * of each of its routes when it is built (off the request path: {@code CompiledTable}); the shards then count into
 * {@code counters[number * stride + ...]} with no map lookup. Numbers are never reused, so a counter stays monotonic
 * across table swaps; a route that disappears simply stops growing. After {@link #MAX} label sets, new routes share
 * the {@link #OVERFLOW} series rather than grow memory without bound.
 *
 * <p>Thread-safe (synchronized): used by the threads that compile tables and by the metrics collector, never by a
 * shard on the request path.
 */
public final class RouteSeries {
    /** Requests that matched no route (404, or rejected before routing). */
    public static final int UNMATCHED = 0;
    /** Routes beyond {@link #MAX}. */
    public static final int OVERFLOW = 1;
    public static final int MAX = 16_384;

    /** One label set. {@code rule} is e.g. {@code Prefix /api}; {@code ingress} and {@code namespace} may be empty. */
    public record Labels(String host, String rule, String service, String namespace, String ingress) {
    }

    private static final Map<Labels, Integer> NUMBERS = new HashMap<>();
    private static final List<Labels> LABELS = new ArrayList<>();
    private static volatile Labels[] snapshot = new Labels[0];

    static {
        number(new Labels("", "", "", "", ""));
        number(new Labels("", "overflow", "", "", ""));
    }

    private RouteSeries() {
    }

    /** The number of a label set, assigning the next one the first time. */
    public static synchronized int number(Labels l) {
        Integer n = NUMBERS.get(l);
        if (n != null) {
            return n;
        }
        if (LABELS.size() >= MAX) {
            return OVERFLOW;
        }
        int next = LABELS.size();
        NUMBERS.put(l, next);
        LABELS.add(l);
        snapshot = LABELS.toArray(new Labels[0]);
        return next;
    }

    /** Every label set numbered so far, index = number. */
    public static Labels[] all() {
        return snapshot;
    }

    /**
     * Labels of a route from its parts. {@code source} is the rule's origin as the agent writes it
     * ({@code ingress NAMESPACE/NAME}) or a config path; only the former yields ingress and namespace labels.
     */
    public static Labels labels(String host, String rule, String service, String source) {
        String ns = "";
        String ingress = "";
        if (source != null && source.startsWith("ingress ")) {
            String ref = source.substring("ingress ".length());
            int slash = ref.indexOf('/');
            int end = ref.indexOf(' ');
            if (end < 0) {
                end = ref.length();
            }
            if (slash > 0 && slash < end) {
                ns = ref.substring(0, slash);
                ingress = ref.substring(slash + 1, end);
            }
        }
        return new Labels(host == null ? "" : host, rule, service, ns, ingress);
    }
}
