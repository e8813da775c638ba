package io.sluice.perf.lab;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TlsLabReportTest {

    private static LabResults results(String... rows) {
        List<String> out = new ArrayList<>();
        for (String r : rows) {
            out.add(String.join("\t", r.split(" ", 5))); // the fifth field (a status) keeps its spaces
        }
        return LabResults.parse(out);
    }

    private static final Map<String, String> FACTS = Map.of("date", "2026-11-22 07:00 UTC", "runs", "3",
        "phases", "full-ecdsa,resumed,keepalive", "proxies", "nginx,sluice", "quick", "0");

    private static String goalRow(TlsLabReport report, String start) {
        return report.goalsTable().text("").lines().filter(l -> l.startsWith(start)).findFirst().orElseThrow();
    }

    @Test
    void bothProxiesSaturatedTheRateDecides() {
        TlsLabReport report = new TlsLabReport(results(
            "full-ecdsa nginx 1 rate 10000", "full-ecdsa nginx 1 per_cpu_s 10100", "full-ecdsa nginx 1 proxy_busy 99",
            "full-ecdsa sluice 1 rate 16000", "full-ecdsa sluice 1 per_cpu_s 16100", "full-ecdsa sluice 1 proxy_busy 98",
            "full-ecdsa nginx 1 mode_held 1", "full-ecdsa sluice 1 mode_held 1"), FACTS);
        String row = goalRow(report, "Full handshakes, ECDSA");
        assertTrue(row.contains("1.60") && row.contains("rate (both proxies CPU-bound)") && row.endsWith(" met"), row);
    }

    @Test
    void aClientBoundRunIsDecidedPerProxyCpuSecond() {
        // Both rates equal (the client's limit), but Sluice needed half the CPU per handshake.
        TlsLabReport report = new TlsLabReport(results(
            "full-ecdsa nginx 1 rate 8000", "full-ecdsa nginx 1 per_cpu_s 10000", "full-ecdsa nginx 1 proxy_busy 80",
            "full-ecdsa sluice 1 rate 8000", "full-ecdsa sluice 1 per_cpu_s 20000", "full-ecdsa sluice 1 proxy_busy 40"),
            FACTS);
        String row = goalRow(report, "Full handshakes, ECDSA");
        assertTrue(row.contains("1.00") && row.contains("2.00") && row.contains("per proxy-CPU-second")
            && row.endsWith(" met"), row);
        assertTrue(report.text().contains("the load side set the rate"), report.text());
    }

    @Test
    void aResumedRunThatDidNotResumeIsInvalidAndSaysSoLoudly() {
        TlsLabReport report = new TlsLabReport(results(
            "resumed nginx 1 rate 20000", "resumed nginx 1 per_cpu_s 20000", "resumed nginx 1 proxy_busy 100",
            "resumed nginx 1 resumed_share 0.99", "resumed nginx 1 mode_held 1",
            "resumed sluice 1 rate 40000", "resumed sluice 1 per_cpu_s 40000", "resumed sluice 1 proxy_busy 100",
            "resumed sluice 1 resumed_share 0.10", "resumed sluice 1 mode_held 0"), FACTS);
        String row = goalRow(report, "Resumed handshakes");
        assertTrue(row.contains("invalid: resumption below 90%"), row);
        String md = report.markdown();
        assertTrue(md.contains("RESUMPTION FAILED") && md.contains("10.0% of handshakes resumed"), md);
    }

    @Test
    void aProxyThatDidNotStartIsNotMeasuredWithItsReason() {
        TlsLabReport report = new TlsLabReport(results(
            "status nginx-ecdsa 0 state ok",
            "status sluice-ecdsa 0 state the data plane rejects the TLS configuration",
            "keepalive nginx 1 rate 30000", "keepalive nginx 1 per_cpu_s 30000", "keepalive nginx 1 proxy_busy 100"),
            FACTS);
        String row = goalRow(report, "HTTPS keep-alive");
        assertTrue(row.contains("not measured: sluice-ecdsa did not run"), row);
        assertTrue(report.markdown().contains("sluice-ecdsa: the data plane rejects the TLS configuration"));
        assertFalse(report.disturbed());
    }

    @Test
    void theSectionGoesBetweenItsOwnMarkersAndLeavesTheLoadLabsAlone() {
        String doc = "# B\n\n<!-- lab:begin -->\nold lab\n<!-- lab:end -->\n";
        String once = BenchmarksFile.withSection(doc, "tls v1", TlsLabReport.BEGIN, TlsLabReport.END,
            TlsLabReport.PREAMBLE);
        assertTrue(once.contains("old lab") && once.contains("## TLS termination lab (issue 4)")
            && once.contains("<!-- tls-lab:begin -->\ntls v1\n<!-- tls-lab:end -->"), once);
        String twice = BenchmarksFile.withSection(once, "tls v2", TlsLabReport.BEGIN, TlsLabReport.END,
            TlsLabReport.PREAMBLE);
        assertTrue(twice.contains("tls v2") && !twice.contains("tls v1") && twice.contains("old lab"), twice);
        assertTrue(twice.indexOf("## TLS termination lab") == twice.lastIndexOf("## TLS termination lab"), twice);
    }
}
