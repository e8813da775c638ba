package io.sluice.agent.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * Kubernetes manifests as YAML text, and a way to write them that a watcher can never see half done: the new
 * contents go to a hidden file in the same directory (the agent skips hidden files), renamed over the old one —
 * what {@code kubectl}-driven GitOps tools and ConfigMap volume updates do.
 */
public final class ManifestFiles {
    private ManifestFiles() {
    }

    /** Replaces {@code dir/name} atomically with {@code yaml}. */
    public static void write(Path dir, String name, String yaml) {
        Path tmp = dir.resolve("." + name + ".tmp");
        try {
            Files.writeString(tmp, yaml);
            Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Our IngressClass, marked default. */
    public static String ingressClass() {
        return """
            apiVersion: networking.k8s.io/v1
            kind: IngressClass
            metadata:
              name: sluice
              annotations:
                ingressclass.kubernetes.io/is-default-class: "true"
            spec:
              controller: sluice.io/ingress-controller
            """;
    }

    /** A Service with one port named {@code http}, port 80. */
    public static String service(String ns, String name) {
        return """
            apiVersion: v1
            kind: Service
            metadata:
              name: %s
              namespace: %s
            spec:
              ports:
                - name: http
                  port: 80
            """.formatted(name, ns);
    }

    /**
     * An EndpointSlice of {@code service} with one endpoint, 127.0.0.1:port (a slice has one port number for all its
     * endpoints, so each loopback origin gets its own slice). {@code terminating}: terminating but still serving,
     * which the agent publishes as draining.
     */
    public static String slice(String ns, String sliceName, String service, int port, boolean terminating) {
        return """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: %s
              namespace: %s
              labels:
                kubernetes.io/service-name: %s
            addressType: IPv4
            ports:
              - name: http
                port: %d
                protocol: TCP
            endpoints:
              - addresses: ["127.0.0.1"]
                conditions:
                  ready: %s
                  serving: true
                  terminating: %s
            """.formatted(sliceName, ns, service, port, !terminating, terminating);
    }

    /** One path of an Ingress rule. */
    public record IngressPath(String host, String path, String pathType, String service) {
    }

    /** An Ingress of class sluice; paths of the same host are grouped into one rule. Service ports by name. */
    public static String ingress(String ns, String name, List<IngressPath> paths) {
        StringBuilder sb = new StringBuilder();
        sb.append("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: ").append(name)
            .append("\n  namespace: ").append(ns).append("\nspec:\n  ingressClassName: sluice\n  rules:\n");
        String host = null;
        for (IngressPath p : paths) {
            if (!p.host().equals(host)) {
                host = p.host();
                sb.append("    - host: \"").append(host).append("\"\n      http:\n        paths:\n");
            }
            sb.append("          - path: ").append(p.path()).append("\n            pathType: ").append(p.pathType())
                .append("\n            backend:\n              service:\n                name: ").append(p.service())
                .append("\n                port:\n                  name: http\n");
        }
        return sb.toString();
    }

    /** Joins documents into one multi-document file. */
    public static String documents(List<String> docs) {
        return String.join("---\n", docs);
    }
}
