package io.sluice.perf.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabReportTest {

    private static List<String> lines(String... rows) {
        List<String> out = new ArrayList<>();
        for (String r : rows) {
            out.add(r.replace(' ', '\t'));
        }
        return out;
    }

    private static final Map<String, String> FACTS = Map.of(
        "date", "2026-11-22 04:00 UTC", "runs", "3", "duration_s", "10", "connections", "64",
        "proxies", "nginx,haproxy,sluice", "lat_rate", "40000", "quick", "0");

    @Test
    void mediansAreTakenOverRuns() {
        assertEquals(2.0, LabResults.median(List.of(3.0, 1.0, 2.0)));
        assertEquals(2.5, LabResults.median(List.of(4.0, 1.0, 2.0, 3.0)));
        assertTrue(Double.isNaN(LabResults.median(List.of())));
    }

    @Test
    void ratiosAndGoalsCompareWithNginxOfTheSameRun() {
        LabResults r = LabResults.parse(lines(
            "status nginx 0 state ok", "status haproxy 0 state ok", "status sluice 0 state ok",
            "max nginx 1 rps 80000", "max nginx 2 rps 82000", "max nginx 3 rps 90000",
            "max sluice 1 rps 110000", "max sluice 2 rps 100000", "max sluice 3 rps 104000",
            "max haproxy 1 rps 70000",
            "lat nginx 1 p99_us 300", "lat sluice 1 p99_us 240", "lat nginx 1 achieved_rate 40000",
            "lat sluice 1 achieved_rate 40000"));
        LabReport report = new LabReport(r, FACTS);
        String text = report.text();
        assertTrue(text.contains("82,000"), text);            // nginx median
        assertTrue(text.contains("1.27"), text);              // 104,000 / 82,000
        assertTrue(text.contains("0.85"), text);              // haproxy 70,000 / 82,000
        String goals = report.goalsTable().text("");
        assertEquals(2, goals.lines().filter(l -> l.endsWith("met") && !l.endsWith("not met")).count(), goals);
    }

    @Test
    void aProxyThatDidNotRunIsReportedWithItsReason() {
        List<String> results = lines("status nginx 0 state ok", "max nginx 1 rps 80000", "lat nginx 1 p99_us 300");
        results.add("status\tsluice\t0\tstate\tnot available: bin/sluice does not exist yet");
        LabReport report = new LabReport(LabResults.parse(results), FACTS);
        String md = report.markdown();
        assertTrue(md.contains("not available: bin/sluice does not exist yet"), md);
        assertTrue(md.contains("| sluice | not measured |"), md);
        assertTrue(md.contains("- sluice: not available"), md);
        assertTrue(report.goalsTable().text("").contains("not measured"));
        assertFalse(report.text().isEmpty());
    }

    @Test
    void aRunDisturbedByOtherProcessesIsRecognised() {
        LabResults quiet = LabResults.parse(lines("max nginx 1 rps 80000", "max nginx 1 other_cpu 3",
            "lat nginx 1 other_cpu 10"));
        LabResults noisy = LabResults.parse(lines("max nginx 1 rps 80000", "max nginx 1 other_cpu 3",
            "max sluice 1 other_cpu 60", "max sluice 2 other_cpu 70", "max sluice 3 other_cpu 2"));
        assertFalse(new LabReport(quiet, FACTS).disturbed());
        assertTrue(new LabReport(noisy, FACTS).disturbed());
        assertTrue(new LabReport(noisy, FACTS).text().contains("Processes outside the lab used 60%"));
    }

    @Test
    void replacesOnlyTheLabSection() {
        String doc = "# B\n\nintro\n\n" + BenchmarksFile.BEGIN + "\nold\n" + BenchmarksFile.END + "\n\n## JMH\nkept\n";
        String updated = BenchmarksFile.withLabSection(doc, "new table\n");
        assertEquals("# B\n\nintro\n\n" + BenchmarksFile.BEGIN + "\nnew table\n" + BenchmarksFile.END
            + "\n\n## JMH\nkept\n", updated);
        assertTrue(BenchmarksFile.withLabSection(null, "x").contains(BenchmarksFile.BEGIN + "\nx\n"));
        assertTrue(BenchmarksFile.withLabSection("# B\n", "x").startsWith("# B\n\n## Load lab\n\n"));
    }

    @Test
    void tablesRenderAsTextAndMarkdown() {
        Table t = new Table("Proxy", "req/s>").row("nginx", "80,000").row("sluice", "1");
        assertEquals("Proxy    req/s\nnginx   80,000\nsluice       1\n", t.text(""));
        assertEquals("| Proxy | req/s |\n| --- | ---: |\n| nginx | 80,000 |\n| sluice | 1 |\n", t.markdown());
    }
}
