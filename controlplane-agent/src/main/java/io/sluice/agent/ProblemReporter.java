package io.sluice.agent;

import io.sluice.agent.compile.Problem;
import java.lang.System.Logger.Level;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reports problems when they appear (log at WARNING, and to an event sink: Kubernetes Events in cluster mode) and
 * when they go away (log at INFO). A compile reports its full list every time; only the difference is reported, so a
 * long-standing problem is logged once, not at every endpoint change.
 */
public final class ProblemReporter {
    private static final System.Logger LOG = System.getLogger("io.sluice.agent");

    private final Consumer<Problem> sink;
    private Set<Problem> current = Set.of();

    /** @param sink receives each new problem (e.g. to create a Kubernetes Event); may be null */
    public ProblemReporter(Consumer<Problem> sink) {
        this.sink = sink;
    }

    /** Replaces the current problems; returns how many are new. */
    public synchronized int report(List<Problem> problems) {
        Set<Problem> next = new LinkedHashSet<>(problems);
        int added = 0;
        for (Problem p : next) {
            if (!current.contains(p)) {
                added++;
                LOG.log(Level.WARNING, p.toString());
                if (sink != null) {
                    try {
                        sink.accept(p);
                    } catch (RuntimeException e) {
                        LOG.log(Level.DEBUG, "could not record event for " + p.object(), e);
                    }
                }
            }
        }
        for (Problem p : current) {
            if (!next.contains(p)) {
                LOG.log(Level.INFO, "resolved: " + p);
            }
        }
        current = next;
        return added;
    }

    public synchronized List<Problem> current() {
        return List.copyOf(current);
    }
}
