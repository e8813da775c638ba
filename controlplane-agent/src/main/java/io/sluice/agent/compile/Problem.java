package io.sluice.agent.compile;

import java.util.Comparator;
import java.util.Objects;

/**
 * Something wrong with one object, found while compiling: logged by the agent, sent as a Kubernetes Event on the
 * object, printed by {@code agent validate}. The rest of the configuration keeps working.
 *
 * @param object  the object at fault
 * @param reason  a CamelCase word, as Kubernetes Event reasons are ({@code UnknownService}, {@code Conflict}, ...)
 * @param message what is wrong and what Sluice did about it
 */
public record Problem(ObjectRef object, String reason, String message) implements Comparable<Problem> {
    private static final Comparator<Problem> ORDER = Comparator.comparing(Problem::object)
        .thenComparing(Problem::reason).thenComparing(Problem::message);

    public Problem {
        Objects.requireNonNull(object, "object");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(message, "message");
    }

    @Override
    public int compareTo(Problem o) {
        return ORDER.compare(this, o);
    }

    @Override
    public String toString() {
        return object + ": " + reason + ": " + message;
    }
}
