package io.sluice.agent.compile;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.util.Comparator;
import java.util.Objects;

/**
 * Names a Kubernetes object in problems, logs and Events: {@code Ingress shop/web}. Cluster-scoped objects have an
 * empty namespace; a manifest file that could not be parsed is {@code File <path>}.
 */
public record ObjectRef(String kind, String namespace, String name) implements Comparable<ObjectRef> {
    private static final Comparator<ObjectRef> ORDER = Comparator.comparing(ObjectRef::kind)
        .thenComparing(ObjectRef::namespace).thenComparing(ObjectRef::name);

    public ObjectRef {
        Objects.requireNonNull(kind, "kind");
        namespace = namespace == null ? "" : namespace;
        name = name == null ? "" : name;
    }

    public static ObjectRef of(HasMetadata o) {
        String kind = o.getKind() != null ? o.getKind() : o.getClass().getSimpleName();
        return new ObjectRef(kind, o.getMetadata() == null ? "" : o.getMetadata().getNamespace(),
            o.getMetadata() == null ? "" : o.getMetadata().getName());
    }

    /** {@code namespace/name}, or {@code name} when cluster-scoped. */
    public String key() {
        return namespace.isEmpty() ? name : namespace + "/" + name;
    }

    @Override
    public int compareTo(ObjectRef o) {
        return ORDER.compare(this, o);
    }

    @Override
    public String toString() {
        return kind + " " + key();
    }
}
