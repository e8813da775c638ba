package io.sluice.deploy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The manifests of {@code k8s/}, parsed strictly with fabric8's typed model.
 *
 * <p>fabric8's model classes keep fields they do not know in an {@code additionalProperties} map instead of failing
 * (the API server, by contrast, rejects them with {@code kubectl apply --validate=strict}, or silently drops them
 * without). So parsing alone is not strict: {@link #unknownFields} walks the whole object graph and reports every
 * non-empty {@code additionalProperties} with its path. A wrong type still fails in Jackson, a kind fabric8 has no
 * class for comes back as {@link GenericKubernetesResource} and is refused as well.
 */
final class Manifests {
    static final Path ROOT = Path.of(System.getProperty("sluice.root", "..")).toAbsolutePath().normalize();
    static final Path K8S = ROOT.resolve("k8s");
    static final Path DOCKER = ROOT.resolve("docker");

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private Manifests() {
    }

    /** A parsed object with the file it came from. */
    record Doc(Path file, int index, HasMetadata object) {
        String where() {
            return K8S.relativize(file) + "#" + index + " " + object.getKind() + " " + object.getMetadata().getName();
        }
    }

    /** Every {@code *.yaml} in k8s/ except the kustomization. */
    static List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(K8S)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".yaml"))
                .filter(p -> !p.getFileName().toString().equals("kustomization.yaml"))
                .sorted().toList();
        }
    }

    static List<Doc> all() throws IOException {
        List<Doc> docs = new ArrayList<>();
        for (Path f : files()) {
            docs.addAll(parse(f, Files.readString(f)));
        }
        return docs;
    }

    /** Parses a multi-document file; throws on unknown fields, wrong types and unknown kinds. */
    static List<Doc> parse(Path file, String text) {
        List<Doc> docs = new ArrayList<>();
        int i = 0;
        for (String part : text.split("(?m)^---\\s*$")) {
            if (part.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"))) {
                continue;
            }
            HasMetadata o;
            try {
                o = SERIALIZATION.unmarshal(part, HasMetadata.class);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(file.getFileName() + "#" + i + ": " + e.getMessage(), e);
            }
            if (o == null || o instanceof GenericKubernetesResource) {
                throw new IllegalArgumentException(file.getFileName() + "#" + i + ": no typed model for kind "
                    + (o == null ? "?" : o.getApiVersion() + "/" + o.getKind()));
            }
            List<String> unknown = unknownFields(o);
            if (!unknown.isEmpty()) {
                throw new IllegalArgumentException(file.getFileName() + "#" + i + " " + o.getKind() + " "
                    + o.getMetadata().getName() + ": unknown fields " + unknown);
            }
            docs.add(new Doc(file, i, o));
            i++;
        }
        return docs;
    }

    static <T extends HasMetadata> T one(List<Doc> docs, Class<T> type) {
        List<T> found = docs.stream().map(Doc::object).filter(type::isInstance).map(type::cast).toList();
        if (found.size() != 1) {
            throw new AssertionError("expected one " + type.getSimpleName() + ", found " + found.size());
        }
        return found.get(0);
    }

    /** Paths of every field fabric8 did not recognise, e.g. {@code spec.template.spec.hostNetwrok}. */
    static List<String> unknownFields(Object root) {
        List<String> out = new ArrayList<>();
        walk(root, "", out);
        return out;
    }

    private static void walk(Object o, String path, List<String> out) {
        if (o == null || o instanceof String || o instanceof Number || o instanceof Boolean || o instanceof Enum<?>) {
            return;
        }
        if (o instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                walk(e.getValue(), path + "[" + e.getKey() + "]", out);
            }
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) {
                walk(e, path + "[" + i++ + "]", out);
            }
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers())
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            String n = m.getName();
            Object v;
            try {
                if (n.equals("getAdditionalProperties")) {
                    Map<?, ?> extra = (Map<?, ?>) m.invoke(o);
                    if (extra != null) {
                        for (Object k : extra.keySet()) {
                            out.add((path.isEmpty() ? "" : path + ".") + k);
                        }
                    }
                    continue;
                }
                if (!n.startsWith("get") || n.length() == 3) {
                    continue;
                }
                v = m.invoke(o);
            } catch (IllegalAccessException | InvocationTargetException e) {
                continue;
            }
            String field = Character.toLowerCase(n.charAt(3)) + n.substring(4);
            walk(v, path.isEmpty() ? field : path + "." + field, out);
        }
    }
}
