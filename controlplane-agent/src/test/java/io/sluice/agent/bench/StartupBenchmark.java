package io.sluice.agent.bench;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.sluice.agent.harness.ChildJvm;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.shm.RouteTableFileReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Agent start → first table in the route file, for the 10,000-Ingress synthetic cluster written as a manifests
 * directory (100 files). Not a unit test: a main, run by hand (command in BENCHMARKS.md). What it answers: does the
 * compiler warm-up ({@code CompilerWarmup}, run while the files are parsed) shorten the way to the first table, or only
 * the first compile? Runs alternate between warm-up on and off ({@code -Dsluice.agent.warmup=false}); each run is a
 * fresh agent JVM ({@code -Xmx256m}, as bin/sluice demo runs it) on a fresh route file. Printed per run: the time from
 * process start until the table is readable in the file, and the agent's own "compiled in" figure for it.
 *
 * <p>Arguments: {@code [runs per setting (3)] [ingresses (10000)]}.
 */
public final class StartupBenchmark {
    private static final Pattern COMPILED = Pattern.compile("published generation 1 .*compiled in ([0-9.]+) ms");

    private StartupBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int ingresses = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        Path tmp = Files.createTempDirectory("sluice-startup-bench");
        Path manifests = Files.createDirectories(tmp.resolve("manifests"));
        List<HasMetadata> objects = SyntheticCluster.objects(ingresses);
        KubernetesSerialization yaml = new KubernetesSerialization();
        int files = 100;
        for (int f = 0; f < files; f++) {
            List<String> docs = new ArrayList<>();
            for (int i = f; i < objects.size(); i += files) {
                docs.add(yaml.asYaml(objects.get(i)).replaceFirst("^---\\n", ""));
            }
            Files.writeString(manifests.resolve(String.format("m%03d.yaml", f)), String.join("---\n", docs));
        }
        System.out.printf("JVM %s, %d CPUs; %d objects (%d Ingresses) in %d files; %d runs per setting%n",
            Runtime.version(), Runtime.getRuntime().availableProcessors(), objects.size(), ingresses, files, runs);
        try {
            for (int r = 0; r < runs; r++) {
                for (boolean warmup : new boolean[] {true, false}) {
                    Path routes = tmp.resolve("routes-" + r + "-" + warmup);
                    Path log = tmp.resolve("agent-" + r + "-" + warmup + ".log");
                    long t0 = System.nanoTime();
                    try (ChildJvm agent = ChildJvm.start("agent", log, List.of("-Xmx256m",
                            "-Dsluice.agent.warmup=" + warmup), "io.sluice.agent.AgentMain",
                            List.of("--manifests", manifests.toString(), "--routes", routes.toString()));
                         RouteTableFileReader reader = RouteTableFileReader.open(routes)) {
                        RouteTable t = null;
                        while (t == null || t.hosts().isEmpty()) {
                            if (System.nanoTime() - t0 > 300_000_000_000L || !agent.isAlive()) {
                                throw new IllegalStateException("no table:\n" + agent.tail(20));
                            }
                            Thread.sleep(2);
                            t = reader.poll();
                        }
                        long ms = (System.nanoTime() - t0) / 1_000_000;
                        agent.awaitLog("published generation 1 ", 5_000);
                        Matcher m = COMPILED.matcher(agent.log());
                        System.out.printf("run %d, warm-up %-3s: start → table %5d ms; first compile %s ms "
                                + "(%d hosts)%n", r + 1, warmup ? "on" : "off", ms, m.find() ? m.group(1) : "?",
                            t.hosts().size());
                    }
                }
            }
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
