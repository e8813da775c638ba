package io.sluice.agent.source;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.sluice.agent.compile.ObjectRef;
import io.sluice.agent.compile.Problem;
import io.sluice.agent.compile.Reasons;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads Kubernetes manifests: every {@code *.yaml}, {@code *.yml} and {@code *.json} file under a directory
 * (recursively, hidden files and directories skipped, in path order), each holding any number of {@code ---}
 * separated documents, {@code kind: List} included. Objects of the kinds the agent reads (Ingress, IngressClass,
 * Service, EndpointSlice, Secret) are kept, with the file and line they start at; other kinds are skipped. A namespaced
 * object without a namespace is put in {@code default}, as kubectl would.
 */
public final class ManifestLoader {
    /** A parsed object and where it came from. */
    public record Loaded(HasMetadata object, Path file, int line) {
        public String location() {
            return file + ":" + line;
        }
    }

    /** What one file gave: objects, or a parse error (then no objects). */
    public record FileResult(Path file, List<Loaded> objects, List<Problem> problems, boolean parsed) {
    }

    private static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
        "Ingress", Ingress.class,
        "IngressClass", IngressClass.class,
        "Service", Service.class,
        "EndpointSlice", EndpointSlice.class,
        "Secret", Secret.class);
    private static final Map<String, String> API_VERSIONS = Map.of(
        "Ingress", "networking.k8s.io/v1",
        "IngressClass", "networking.k8s.io/v1",
        "Service", "v1",
        "EndpointSlice", "discovery.k8s.io/v1",
        "Secret", "v1");

    private final YAMLFactory yaml = new YAMLFactory();
    private final ObjectMapper mapper = new ObjectMapper(yaml);
    private final KubernetesSerialization serialization = new KubernetesSerialization();

    /** The manifest files under {@code dir}, sorted. */
    public static List<Path> files(Path dir) throws IOException {
        if (Files.isRegularFile(dir)) {
            return List.of(dir);
        }
        try (Stream<Path> s = Files.walk(dir, 8)) {
            return s.filter(Files::isRegularFile)
                .filter(p -> !hidden(dir, p))
                .filter(p -> {
                    String n = p.getFileName().toString();
                    return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
                })
                .sorted()
                .toList();
        }
    }

    private static boolean hidden(Path root, Path p) {
        for (Path part : root.relativize(p)) {
            String n = part.toString();
            if (n.startsWith(".") || n.endsWith("~")) {
                return true;
            }
        }
        return false;
    }

    /** Parses one file. A YAML error, or a document that does not fit its kind, fails the whole file. */
    public FileResult load(Path file, Path shownAs) {
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (IOException e) {
            ObjectRef fileRef = new ObjectRef("File", "", shownAs.toString());
            return new FileResult(shownAs, List.of(), List.of(new Problem(fileRef, Reasons.PARSE_ERROR,
                oneLine(String.valueOf(e.getMessage())))), false);
        }
        return load(content, shownAs);
    }

    /** Parses the contents of one file, as {@link #load(Path, Path)}. */
    public FileResult load(byte[] content, Path shownAs) {
        List<Loaded> out = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        ObjectRef fileRef = new ObjectRef("File", "", shownAs.toString());
        try (JsonParser p = yaml.createParser(content)) {
            MappingIterator<JsonNode> it = mapper.readValues(p, JsonNode.class);
            while (it.hasNextValue()) {
                int line = p.currentTokenLocation().getLineNr();
                JsonNode doc = it.nextValue();
                if (doc == null || doc.isNull() || doc.isMissingNode() || (doc.isObject() && doc.isEmpty())) {
                    continue;
                }
                if (!doc.isObject()) {
                    throw new DocumentException(line, "a document is not a mapping");
                }
                if ("List".equals(doc.path("kind").asText()) && doc.path("items").isArray()) {
                    for (JsonNode item : doc.path("items")) {
                        add(item, shownAs, line, out, problems);
                    }
                } else {
                    add(doc, shownAs, line, out, problems);
                }
            }
        } catch (DocumentException e) {
            problems.add(new Problem(fileRef, Reasons.PARSE_ERROR, "line " + e.line + ": " + e.getMessage()));
            return new FileResult(shownAs, List.of(), problems, false);
        } catch (JsonProcessingException e) {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            problems.add(new Problem(fileRef, Reasons.PARSE_ERROR, "line " + line + ": "
                + oneLine(e.getOriginalMessage())));
            return new FileResult(shownAs, List.of(), problems, false);
        } catch (IOException | RuntimeException e) {
            problems.add(new Problem(fileRef, Reasons.PARSE_ERROR, oneLine(String.valueOf(e.getMessage()))));
            return new FileResult(shownAs, List.of(), problems, false);
        }
        return new FileResult(shownAs, out, problems, true);
    }

    private void add(JsonNode doc, Path shownAs, int line, List<Loaded> out, List<Problem> problems)
            throws DocumentException {
        String kind = doc.path("kind").asText("");
        Class<? extends HasMetadata> type = KINDS.get(kind);
        if (type == null) {
            if (kind.isEmpty()) {
                throw new DocumentException(line, "a document has no kind");
            }
            return; // Deployments, Namespaces...: not ours to read
        }
        String name = doc.path("metadata").path("name").asText("");
        String ns = doc.path("metadata").path("namespace").asText("");
        boolean namespaced = !"IngressClass".equals(kind);
        ObjectRef ref = new ObjectRef(kind, namespaced ? (ns.isEmpty() ? "default" : ns) : "", name);
        String apiVersion = doc.path("apiVersion").asText("");
        if (!API_VERSIONS.get(kind).equals(apiVersion)) {
            problems.add(new Problem(ref, Reasons.UNSUPPORTED_API_VERSION, shownAs + ":" + line + ": apiVersion '"
                + apiVersion + "' is not read; use " + API_VERSIONS.get(kind)));
            return;
        }
        if (name.isEmpty()) {
            throw new DocumentException(line, kind + " without metadata.name");
        }
        HasMetadata o;
        try {
            o = serialization.convertValue(doc, type);
        } catch (RuntimeException e) {
            Throwable c = e;
            while (c.getCause() != null) {
                c = c.getCause();
            }
            String msg = c instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : c.getMessage();
            throw new DocumentException(line, ref + " does not fit its kind: " + msg);
        }
        if (namespaced && (o.getMetadata().getNamespace() == null || o.getMetadata().getNamespace().isEmpty())) {
            o.getMetadata().setNamespace("default");
        }
        out.add(new Loaded(o, shownAs, line));
    }

    /** YAML errors come with a multi-line excerpt; a log line and an Event want one line. */
    static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }

    private static final class DocumentException extends Exception {
        private static final long serialVersionUID = 1L;
        final int line;

        DocumentException(int line, String message) {
            super(message);
            this.line = line;
        }
    }
}
