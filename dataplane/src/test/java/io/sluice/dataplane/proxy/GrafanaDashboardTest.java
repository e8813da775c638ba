package io.sluice.dataplane.proxy;

import io.prometheus.client.Collector;
import io.prometheus.client.CollectorRegistry;
import io.sluice.dataplane.metrics.SluiceCollector;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * k8s/grafana-dashboard.json is valid JSON, and every sluice_ metric its queries use is documented in docs/METRICS.md
 * and exported by a running data plane; every exported sluice_ family is documented.
 */
class GrafanaDashboardTest {
    private static final Path ROOT = Path.of("..");
    private static final Pattern NAME = Pattern.compile("\\b(sluice_[a-z0-9_]+)");

    private static String family(String sample) {
        for (String suffix : List.of("_bucket", "_count", "_sum", "_total")) {
            if (sample.endsWith(suffix)) {
                return sample.substring(0, sample.length() - suffix.length());
            }
        }
        return sample;
    }

    @Test
    @SuppressWarnings("unchecked")
    void dashboardMetricsExistAndAreDocumented() throws Exception {
        String json = Files.readString(ROOT.resolve("k8s/grafana-dashboard.json"));
        Map<String, Object> d = (Map<String, Object>) OpsTestSupport.json(json);
        List<Map<String, Object>> panels = (List<Map<String, Object>>) d.get("panels");
        assertTrue(panels.size() >= 10, "panels: " + panels.size());
        Set<String> used = new TreeSet<>();
        for (Map<String, Object> p : panels) {
            for (Map<String, Object> t : (List<Map<String, Object>>) p.get("targets")) {
                Matcher m = NAME.matcher((String) t.get("expr"));
                while (m.find()) {
                    used.add(family(m.group(1)));
                }
            }
        }
        String doc = Files.readString(ROOT.resolve("docs/METRICS.md"));
        Set<String> documented = new HashSet<>();
        Matcher dm = NAME.matcher(doc);
        while (dm.find()) {
            documented.add(family(dm.group(1)));
        }
        Set<String> exported = new HashSet<>();
        try (TestSupport.Origin o = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(TestSupport.routes(o.port()), 1)) {
            CollectorRegistry reg = SluiceCollector.registry(r.dp());
            for (Collector.MetricFamilySamples f : Collections.list(reg.metricFamilySamples())) {
                if (f.name.startsWith("sluice_")) {
                    exported.add(family(f.name));
                }
            }
        }
        for (String n : used) {
            assertTrue(documented.contains(n), n + " is used by the dashboard but not in docs/METRICS.md");
            assertTrue(exported.contains(n), n + " is used by the dashboard but not exported");
        }
        Set<String> undocumented = new TreeSet<>(exported);
        undocumented.removeAll(documented);
        assertEquals(Set.of(), undocumented, "exported but not documented");
    }
}
