package io.sluice.deploy;

import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** Every manifest in k8s/ parses into fabric8's typed model with no unknown field; the kustomization lists them all. */
class ManifestStrictnessTest {

    @Test
    void everyManifestParsesStrictly() throws Exception {
        List<Manifests.Doc> docs = Manifests.all();
        Set<String> kinds = new TreeSet<>();
        for (Manifests.Doc d : docs) {
            kinds.add(d.object().getKind());
            assertFalse(d.object().getClass().getName().contains("Generic"), d.where());
        }
        assertEquals(new TreeSet<>(List.of("ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet",
            "IngressClass", "Namespace", "PodDisruptionBudget", "ServiceAccount")), kinds);
    }

    @Test
    void aMisspeltFieldFails() throws Exception {
        String daemonSet = Files.readString(Manifests.K8S.resolve("daemonset.yaml"));
        assertTrue(daemonSet.contains("hostNetwork: true"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Manifests.parse(
            Path.of("daemonset.yaml"), daemonSet.replace("hostNetwork: true", "hostNetwrok: true")));
        assertTrue(e.getMessage().contains("spec.template.spec.hostNetwrok"), e.getMessage());

        // Deep inside a container, in a list: still found, with its path.
        IllegalArgumentException deep = assertThrows(IllegalArgumentException.class, () -> Manifests.parse(
            Path.of("daemonset.yaml"), daemonSet.replace("readOnlyRootFilesystem: true",
                "readOnlyRootFileSystem: true")));
        assertTrue(deep.getMessage().contains("securityContext.readOnlyRootFileSystem"), deep.getMessage());

        // A wrong type fails in the parser itself.
        assertThrows(IllegalArgumentException.class, () -> Manifests.parse(Path.of("daemonset.yaml"),
            daemonSet.replace("terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: forty")));

        // A kind without a model class is refused, not passed through as a generic resource.
        IllegalArgumentException kind = assertThrows(IllegalArgumentException.class, () -> Manifests.parse(
            Path.of("x.yaml"), "apiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: x}\n"));
        assertTrue(kind.getMessage().contains("no typed model"), kind.getMessage());
    }

    @Test
    void kustomizationListsEveryManifestAndSetsTheNamespace() throws Exception {
        Map<String, Object> k = new Yaml(new SafeConstructor(new LoaderOptions()))
            .load(Files.readString(Manifests.K8S.resolve("kustomization.yaml")));
        assertEquals(Set.of("apiVersion", "kind", "namespace", "resources", "images"), k.keySet());
        @SuppressWarnings("unchecked")
        List<String> resources = (List<String>) k.get("resources");
        assertEquals(new TreeSet<>(Manifests.files().stream().map(p -> p.getFileName().toString()).toList()),
            new TreeSet<>(resources));
        String ns = (String) k.get("namespace");
        for (Manifests.Doc d : Manifests.all()) {
            HasMetadata o = d.object();
            boolean clusterScoped = Set.of("Namespace", "ClusterRole", "ClusterRoleBinding", "IngressClass")
                .contains(o.getKind());
            if (clusterScoped) {
                assertNull(o.getMetadata().getNamespace(), d.where());
            } else {
                assertEquals(ns, o.getMetadata().getNamespace(), d.where());
            }
        }
        assertEquals(ns, Manifests.one(Manifests.all(), io.fabric8.kubernetes.api.model.Namespace.class)
            .getMetadata().getName());
    }

    /** Where kubectl is installed: its own kustomize renders the directory, with the image named as set there. */
    @Test
    void kubectlKustomizeRendersIt() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(DockerfileTest.onPath("kubectl"), "kubectl not installed");
        Process p = new ProcessBuilder("kubectl", "kustomize", Manifests.K8S.toString()).redirectErrorStream(true)
            .start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals(8, out.lines().filter(l -> l.startsWith("kind: ")).count(), out);
        assertEquals(3, out.lines().filter(l -> l.strip().equals("image: sluice:0.1.0-SNAPSHOT")).count(), out);
        // The rendered output is as strict as the sources.
        assertEquals(8, Manifests.parse(Path.of("rendered.yaml"), out).size());
    }
}
