package io.sluice.deploy;

import static org.junit.jupiter.api.Assertions.*;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * docker/Dockerfile, read as Docker reads it (instructions, line continuations, stages), checked against the
 * repository and the DaemonSet: the build stage builds modules that exist with scripts that exist, the runtime stage
 * runs as the non-root user the DaemonSet names, the entrypoint is the script the build installs, the exposed ports
 * are the ones the pod declares. (No Docker daemon on the build machines: EntrypointSmokeTest runs the same scripts
 * outside a container.)
 */
class DockerfileTest {
    record Instruction(int stage, String keyword, String args) {
    }

    record Stage(String image, String name) {
    }

    private static final List<Instruction> INSTRUCTIONS = new ArrayList<>();
    private static final List<Stage> STAGES = new ArrayList<>();
    private static final Map<String, String> ARGS = new java.util.HashMap<>();

    @BeforeAll
    static void parse() throws Exception {
        List<String> logical = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        for (String line : Files.readAllLines(Manifests.DOCKER.resolve("Dockerfile"))) {
            String t = line.strip();
            if (t.startsWith("#") || (t.isEmpty() && cur.isEmpty())) {
                continue;
            }
            if (t.endsWith("\\")) {
                cur.append(t, 0, t.length() - 1).append(' ');
                continue;
            }
            cur.append(t);
            logical.add(cur.toString().strip());
            cur.setLength(0);
        }
        assertTrue(cur.isEmpty(), "dangling line continuation");
        int stage = -1;
        for (String l : logical) {
            int sp = l.indexOf(' ');
            String kw = l.substring(0, sp).toUpperCase(java.util.Locale.ROOT);
            String args = l.substring(sp + 1).strip();
            assertTrue(List.of("FROM", "ARG", "WORKDIR", "COPY", "RUN", "ENV", "USER", "EXPOSE", "ENTRYPOINT", "CMD",
                "LABEL").contains(kw), "unexpected instruction " + kw);
            if (kw.equals("FROM")) {
                stage++;
                String[] p = args.split("\\s+");
                String image = p[0];
                Matcher m = Pattern.compile("\\$\\{(\\w+)}").matcher(image);
                if (m.matches()) {
                    image = ARGS.get(m.group(1));
                }
                STAGES.add(new Stage(image, p.length == 3 && p[1].equalsIgnoreCase("AS") ? p[2] : null));
            } else if (kw.equals("ARG") && stage < 0) {
                String[] kv = args.split("=", 2);
                ARGS.put(kv[0], kv.length > 1 ? kv[1] : null);
            }
            INSTRUCTIONS.add(new Instruction(stage, kw, args));
        }
    }

    private static List<Instruction> in(int stage, String keyword) {
        return INSTRUCTIONS.stream().filter(i -> i.stage() == stage && i.keyword().equals(keyword)).toList();
    }

    @Test
    void twoStagesMavenBuildThenMinimalRuntime() {
        assertEquals(2, STAGES.size(), STAGES.toString());
        Stage build = STAGES.get(0);
        Stage runtime = STAGES.get(1);
        assertEquals("build", build.name());
        assertTrue(build.image().startsWith("maven:") && build.image().contains("temurin-25"), build.image());
        assertEquals("runtime", runtime.name());
        assertTrue(runtime.image().contains("slim"), "runtime on a slim base, not a JDK image: " + runtime.image());
        String run = String.join(" ", in(0, "RUN").stream().map(Instruction::args).toList());
        assertTrue(run.contains("mvn -B -DskipTests"), run);
        Matcher pl = Pattern.compile("-pl (\\S+)").matcher(run);
        assertTrue(pl.find());
        for (String module : pl.group(1).split(",")) {
            assertTrue(Files.isRegularFile(Manifests.ROOT.resolve(module).resolve("pom.xml")), module);
        }
        // Every repository script the build runs exists and is executable.
        Matcher scripts = Pattern.compile("(docker/[\\w.-]+\\.sh)").matcher(run);
        int n = 0;
        while (scripts.find()) {
            Path s = Manifests.ROOT.resolve(scripts.group(1));
            assertTrue(Files.isExecutable(s), s + " missing or not executable");
            n++;
        }
        assertTrue(n >= 3, "stage.sh, jlink.sh, entrypoint.sh");
        assertTrue(run.contains("jlink.sh \"$JAVA_HOME\""), "runtime linked from the build stage's JDK 25");
        // The runtime stage takes only the built runtime and jars from the build stage.
        for (Instruction c : in(1, "COPY")) {
            assertTrue(c.args().startsWith("--from=build /out/"), c.args());
        }
        assertTrue(in(0, "USER").isEmpty());
        assertTrue(Files.isRegularFile(Manifests.DOCKER.resolve("Dockerfile.dockerignore")));
    }

    @Test
    void runtimeRunsAsTheNonRootUserTheDaemonSetNames() throws Exception {
        List<Instruction> users = in(1, "USER");
        assertEquals(1, users.size());
        String user = users.get(0).args();
        assertTrue(user.matches("\\d+:\\d+"), "numeric USER (the kubelet can check runAsNonRoot only then): " + user);
        long uid = Long.parseLong(user.split(":")[0]);
        long gid = Long.parseLong(user.split(":")[1]);
        assertNotEquals(0, uid);
        int userIndex = INSTRUCTIONS.indexOf(users.get(0));
        for (Instruction i : INSTRUCTIONS.subList(userIndex + 1, INSTRUCTIONS.size())) {
            assertNotEquals("RUN", i.keyword(), "nothing runs after USER");
        }
        DaemonSet ds = Manifests.one(Manifests.all(), DaemonSet.class);
        for (Container c : ds.getSpec().getTemplate().getSpec().getContainers()) {
            assertEquals(uid, c.getSecurityContext().getRunAsUser(), c.getName());
            assertEquals(gid, c.getSecurityContext().getRunAsGroup(), c.getName());
        }
        String run = String.join(" ", in(1, "RUN").stream().map(Instruction::args).toList());
        assertTrue(run.contains("useradd --system --uid ${SLUICE_UID}"), run);
        assertTrue(in(1, "ARG").stream().anyMatch(a -> a.args().equals("SLUICE_UID=" + uid)));
        assertTrue(run.contains("setcap cap_net_bind_service=+ep /opt/java/bin/java-netbind"), run);
        assertTrue(run.contains("-perm /6000"), "setuid/setgid bits removed");
        assertTrue(Files.readString(Manifests.DOCKER.resolve("entrypoint.sh")).contains("java-netbind"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void entrypointAndPorts() throws Exception {
        List<Instruction> ep = in(1, "ENTRYPOINT");
        assertEquals(1, ep.size());
        assertEquals("[\"/opt/sluice/bin/sluice-entrypoint\"]", ep.get(0).args());
        String run = String.join(" ", in(0, "RUN").stream().map(Instruction::args).toList());
        assertTrue(run.contains("install -m 0755 docker/entrypoint.sh /out/sluice/bin/sluice-entrypoint"), run);
        assertTrue(in(1, "COPY").stream().anyMatch(c -> c.args().equals("--from=build /out/sluice /opt/sluice")));
        List<String> exposed = List.of(in(1, "EXPOSE").get(0).args().split("\\s+"));
        ConfigMap cm = Manifests.one(Manifests.all(), ConfigMap.class);
        Map<String, Object> dp = new Yaml(new SafeConstructor(new LoaderOptions()))
            .load(cm.getData().get("sluice.yaml"));
        assertTrue(exposed.contains(String.valueOf(((Map<String, Object>) dp.get("admin")).get("port"))));
        for (Map<String, Object> l : (List<Map<String, Object>>) dp.get("listeners")) {
            assertTrue(exposed.contains(String.valueOf(l.get("port"))), exposed.toString());
        }
        assertTrue(exposed.containsAll(List.of("80", "443")));
        // Each container's first argument is an entrypoint command.
        String script = Files.readString(Manifests.DOCKER.resolve("entrypoint.sh"));
        DaemonSet ds = Manifests.one(Manifests.all(), DaemonSet.class);
        var spec = ds.getSpec().getTemplate().getSpec();
        for (Container c : java.util.stream.Stream.concat(spec.getInitContainers().stream(),
                spec.getContainers().stream()).toList()) {
            String cmd = c.getArgs().get(0);
            assertTrue(Pattern.compile("(?m)^  (\\S+\\|)*" + Pattern.quote(cmd) + "(\\|\\S+)*\\)$").matcher(script)
                .find(), c.getName() + ": entrypoint has no command " + cmd);
            assertTrue(c.getCommand() == null || c.getCommand().isEmpty(),
                c.getName() + " keeps the image's entrypoint");
        }
    }

    @Test
    void scriptsPassShellcheck() throws Exception {
        Assumptions.assumeTrue(onPath("shellcheck"), "shellcheck not installed");
        List<String> cmd = new ArrayList<>(List.of("shellcheck", "-x"));
        for (String s : List.of("entrypoint.sh", "stage.sh", "jlink.sh")) {
            cmd.add(Manifests.DOCKER.resolve(s).toString());
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
    }

    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
