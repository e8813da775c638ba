package io.sluice.perf.lab;

import static io.sluice.perf.lab.LabReport.count;
import static io.sluice.perf.lab.LabReport.micros;
import static io.sluice.perf.lab.LabReport.ratio;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns one TLS lab run's raw results (perf/tls-lab.sh) into the terminal summary and the TLS section of
 * BENCHMARKS.md, between {@value #BEGIN} and {@value #END}.
 *
 * <p>Same files as the load lab's report ({@link LabResults}: {@code phase TAB target TAB run TAB key TAB value};
 * {@code facts.txt}): phases {@code full-ecdsa}, {@code full-rsa}, {@code resumed}, {@code keepalive}; targets
 * {@code nginx} and {@code sluice}; keys {@code rate} (handshakes/s or req/s), {@code per_cpu_s} (the same
 * work per second of the proxy's CPU time), {@code proxy_busy} and {@code client_busy} (% of one core),
 * {@code resumed_share}, {@code mode_held}, {@code errors}, {@code hs_p50_us}/{@code hs_p99_us},
 * {@code other_cpu}. Regenerate a report from a kept run:
 * <pre>
 * java -cp perf/target/benchmarks.jar io.sluice.perf.lab.TlsLabReport \
 *     --results perf/target/tls-lab/STAMP/results.tsv --facts perf/target/tls-lab/STAMP/facts.txt
 * </pre>
 *
 * <h2>Which ratio decides a goal</h2>
 * When both proxies kept their CPU busy (≥ {@value #SATURATED_PERCENT}% of a core) the client could offer more
 * than either could serve, so the wall-clock rates compare the proxies. When either was not, the load side
 * (most often the handshake client verifying ECDSA signatures on one core) set the rate, and the rates say
 * little; the work per proxy-CPU-second then decides, and the table says so.
 */
public final class TlsLabReport {

    static final String BEGIN = "<!-- tls-lab:begin -->";
    static final String END = "<!-- tls-lab:end -->";
    static final String REFERENCE = "nginx";
    static final String CANDIDATE = "sluice";
    static final double SATURATED_PERCENT = 90;
    static final double DISTURBED_PERCENT = 25;

    /** A phase of the lab and its goal (issue 4). */
    record Phase(String id, String title, String unit, double goal) {
    }

    static final List<Phase> PHASES = List.of(
        new Phase("full-ecdsa", "Full handshakes, ECDSA P-256", "handshakes/s", 1.5),
        new Phase("full-rsa", "Full handshakes, RSA-2048", "handshakes/s", 1.5),
        new Phase("resumed", "Resumed handshakes (ECDSA P-256 certificate)", "handshakes/s", 1.5),
        new Phase("keepalive", "HTTPS keep-alive requests (wrk)", "req/s", 1.2));

    /** The hand-written part of the BENCHMARKS.md section that precedes the markers when they are missing. */
    static final String PREAMBLE = """
        ## TLS termination lab (issue 4)

        `bin/sluice perf tls` (perf/tls-lab.sh) measures TLS termination in Sluice next to nginx (Debian's, on
        OpenSSL 3) with the same certificates: an ECDSA P-256 and an RSA-2048 leaf for `bench.local`, signed by
        a lab CA made with `openssl` at the start of each run. Each proxy runs on one core (CPU 0, `taskset`),
        nginx with one worker, `ssl_protocols TLSv1.2 TLSv1.3`, session tickets and a shared session cache;
        Sluice with one shard and a TLS listener. One instance per proxy and key type, so each full-handshake
        phase measures exactly one kind of server signature. The load generator and the origin (the load
        lab's nginx origin, 13-byte body) share CPU 1.

        Phases, interleaved runs (nginx, Sluice, nginx, ...), medians:

        1. **Full handshakes/s, ECDSA P-256** and 2. **RSA-2048**: perf's `TlsHandshakeClient` (Netty epoll +
           BoringSSL) with 32 connection slots; each connects, completes a TLS 1.3 handshake without session
           reuse, sends one GET with `Connection: close`, reads the response and closes.
        3. **Resumed handshakes/s**: the same, each slot offering the session ticket its previous connection
           received; the share of handshakes the server actually resumed is measured, and a run below 90% is
           flagged as invalid.
        4. **HTTPS keep-alive req/s**: `wrk -t1 -c64` over TLS keep-alive connections.

        Besides the rate, every run samples the proxy's CPU time (user + system of all its processes, from
        /proc) over the measured window: **per proxy-CPU-second** is the work done per second of the proxy's
        CPU. The client verifies the server's signature on every full handshake (an ECDSA verification costs
        about three ECDSA signatures), so with ECDSA the client can saturate its core before the proxy does;
        then the rates say more about the client than the proxies, and the per-CPU-second figure is the fair
        comparison. The goals table says which figure decided.

        Goals (one core each): full handshakes/s ECDSA and RSA ≥ 1.5 × nginx's; resumed handshakes/s ≥ 1.5 ×
        nginx's; HTTPS keep-alive req/s ≥ 1.2 × nginx's.

        The section between the markers below is regenerated by every full TLS lab run (`--quick` runs leave it
        alone).

        """;

    private final LabResults results;
    private final Map<String, String> facts;
    private final List<Phase> phases = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();

    TlsLabReport(LabResults results, Map<String, String> facts) {
        this.results = results;
        this.facts = facts;
        List<String> selected = List.of(fact("phases", "full-ecdsa,full-rsa,resumed,keepalive").split(","));
        for (Phase p : PHASES) {
            if (selected.contains(p.id())) {
                phases.add(p);
            }
        }
        collectWarnings();
    }

    public static void main(String[] args) throws IOException {
        ReportArgs a = ReportArgs.parse("TlsLabReport", args);
        TlsLabReport report = new TlsLabReport(LabResults.read(a.results), LabReport.readFacts(a.facts));
        a.publish("TLS lab", report.text(), report.markdown(), report.disturbed(), DISTURBED_PERCENT, BEGIN, END,
            PREAMBLE);
    }

    boolean disturbed() {
        for (Phase p : phases) {
            for (String t : List.of(REFERENCE, CANDIDATE)) {
                if (results.median(p.id(), t, "other_cpu") > DISTURBED_PERCENT) {
                    return true;
                }
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ rendering

    String text() {
        StringBuilder sb = new StringBuilder();
        sb.append('\n').append("Sluice TLS lab, ").append(fact("date", "?")).append('\n');
        sb.append("  ").append(String.format(Locale.ROOT, "%s run(s) x %s s per proxy and phase, %s, %s handshake "
                + "slots, %s keep-alive connections; proxy on CPU %s, client and origin on CPU %s",
            fact("runs", "?"), fact("duration_s", "?"), fact("protocol", "TLSv1.3"), fact("connections", "?"),
            fact("ka_connections", "?"), fact("proxy_cpu", "0"), fact("load_cpu", "1"))).append('\n');
        for (Phase p : phases) {
            sb.append('\n').append(p.title()).append(" (median of runs; x nginx = ratio to nginx in this run)\n");
            sb.append(phaseTable(p).text("  "));
        }
        sb.append('\n').append("Goals (issue 4)\n");
        sb.append(goalsTable().text("  "));
        if (!warnings.isEmpty()) {
            sb.append('\n').append("Notes\n");
            for (String w : warnings) {
                sb.append("  - ").append(w).append('\n');
            }
        }
        return sb.toString();
    }

    String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("<!-- Generated by perf/tls-lab.sh (io.sluice.perf.lab.TlsLabReport); edits here are overwritten. -->\n\n");
        sb.append("### Latest TLS lab run\n\n");
        if ("1".equals(fact("quick", "0"))) {
            sb.append("> **Quick smoke run** (`--quick`: one short run per proxy and phase). It shows that the lab "
                + "works, not how fast anything is; do not quote these numbers.\n\n");
        }
        Table t = new Table("", "");
        t.row("Date", fact("date", "?"));
        t.row("Command", "`" + fact("command", "bin/sluice perf tls") + "`");
        t.row("CPU", fact("cpu_model", "?") + ", " + fact("cpus", "?") + " CPUs"
            + (fact("hypervisor", "").isEmpty() ? "" : ", virtualised (" + fact("hypervisor", "") + ")"));
        t.row("Kernel", fact("kernel", "?"));
        t.row("nginx", fact("nginx_version", "?") + ", built with " + fact("nginx_openssl", "?")
            + (fact("nginx_openssl_running", "").isEmpty() ? "" : ", running with " + fact("nginx_openssl_running", "")));
        t.row("OpenSSL", fact("openssl_version", "?"));
        t.row("Sluice", fact("sluice_commit", "?") + ", one shard, TLS through netty-tcnative (BoringSSL)");
        t.row("Client", "perf's TlsHandshakeClient on " + fact("client_tls_library", "BoringSSL") + ", "
            + fact("protocol", "TLSv1.3") + ", " + fact("connections", "?") + " slots; wrk "
            + fact("wrk_version", "?") + " (OpenSSL) with " + fact("ka_connections", "?")
            + " connections for keep-alive");
        t.row("JDK", fact("java_version", "?"));
        t.row("Runs", fact("runs", "?") + " × " + fact("duration_s", "?") + " s per proxy and phase, interleaved, after "
            + fact("warmup_s", "?") + " s warm-up per phase (+ " + fact("client_warmup_s", "?")
            + " s unrecorded at the start of each handshake run)");
        t.row("Pinning", "proxy on CPU " + fact("proxy_cpu", "0") + "; client, wrk and origin on CPU "
            + fact("load_cpu", "1"));
        sb.append(t.markdown());
        for (Phase p : phases) {
            sb.append("\n#### ").append(p.title()).append("\n\n");
            sb.append(phaseTable(p).markdown());
        }
        sb.append("\n#### Goals (issue 4)\n\n");
        sb.append(goalsTable().markdown());
        if (!warnings.isEmpty()) {
            sb.append("\n**Notes on this run**\n\n");
            for (String w : warnings) {
                sb.append("- ").append(w).append('\n');
            }
        }
        return sb.toString();
    }

    Table phaseTable(Phase p) {
        boolean handshakes = !"keepalive".equals(p.id());
        Table t = handshakes
            ? new Table("Proxy", p.unit() + " (median)>", "min–max>", "× nginx>", "per proxy-CPU-s>", "× nginx>",
                "proxy CPU>", "client CPU>", "resumed>", "handshake p50 / p99 µs>", "errors>")
            : new Table("Proxy", p.unit() + " (median)>", "min–max>", "× nginx>", "per proxy-CPU-s>", "× nginx>",
                "proxy CPU>", "client CPU>", "latency p50 / p99 µs>", "errors>");
        double ref = results.median(p.id(), REFERENCE, "rate");
        double refCpu = results.median(p.id(), REFERENCE, "per_cpu_s");
        for (String target : List.of(REFERENCE, CANDIDATE)) {
            if (!fact("proxies", "nginx,sluice").contains(target)) {
                continue;
            }
            List<String> row = new ArrayList<>();
            row.add(target);
            double rate = results.median(p.id(), target, "rate");
            if (Double.isNaN(rate)) {
                row.add("not measured");
                while (row.size() < (handshakes ? 10 : 9)) {
                    row.add("");
                }
                row.add("see notes");
                t.row(row.toArray(String[]::new));
                continue;
            }
            double perCpu = results.median(p.id(), target, "per_cpu_s");
            row.add(count(rate));
            row.add(count(results.min(p.id(), target, "rate")) + "–" + count(results.max(p.id(), target, "rate")));
            row.add(ratio(rate, ref));
            row.add(count(perCpu));
            row.add(ratio(perCpu, refCpu));
            row.add(percent(results.median(p.id(), target, "proxy_busy")));
            row.add(percent(results.median(p.id(), target, "client_busy")));
            if (handshakes) {
                row.add(percent(100 * results.median(p.id(), target, "resumed_share")));
                row.add(micros(results.median(p.id(), target, "hs_p50_us")) + " / "
                    + micros(results.median(p.id(), target, "hs_p99_us")));
            } else {
                row.add(micros(results.median(p.id(), target, "wrk_p50_us")) + " / "
                    + micros(results.median(p.id(), target, "wrk_p99_us")));
            }
            row.add(count(results.sum(p.id(), target, "errors")));
            t.row(row.toArray(String[]::new));
        }
        return t;
    }

    Table goalsTable() {
        Table t = new Table("Goal", "Sluice × nginx, rate>", "per proxy-CPU-s>", "decided by", "Result");
        for (Phase p : phases) {
            String goal = String.format(Locale.ROOT, "%s ≥ %.1f × nginx's", p.title() + ", " + p.unit(), p.goal());
            double rate = results.median(p.id(), CANDIDATE, "rate");
            double ref = results.median(p.id(), REFERENCE, "rate");
            double cpu = results.median(p.id(), CANDIDATE, "per_cpu_s");
            double refCpu = results.median(p.id(), REFERENCE, "per_cpu_s");
            if (Double.isNaN(rate) || Double.isNaN(ref)) {
                String who = (Double.isNaN(ref) ? REFERENCE : CANDIDATE) + "-" + key(p);
                String why = results.status(who);
                t.row(goal, "–", "–", "–", "not measured: " + who
                    + (why == null || "ok".equals(why) ? " has no result" : " did not run (see notes)"));
                continue;
            }
            boolean saturated = results.median(p.id(), CANDIDATE, "proxy_busy") >= SATURATED_PERCENT
                && results.median(p.id(), REFERENCE, "proxy_busy") >= SATURATED_PERCENT;
            double decisive = saturated ? rate / ref : cpu / refCpu;
            String basis = saturated ? "rate (both proxies CPU-bound)" : "per proxy-CPU-second (load-side bound)";
            String result = Double.isNaN(decisive) ? "not measured (no proxy CPU time)"
                : decisive >= p.goal() ? "met" : "not met";
            if ("resumed".equals(p.id()) && !modeHeld(p)) {
                result = "invalid: resumption below 90% (see notes)";
            }
            t.row(goal, ratio(rate, ref), ratio(cpu, refCpu), basis, result);
        }
        return t;
    }

    private boolean modeHeld(Phase p) {
        for (String target : List.of(REFERENCE, CANDIDATE)) {
            for (double v : results.values(p.id(), target, "mode_held")) {
                if (v < 1) {
                    return false;
                }
            }
        }
        return true;
    }

    private static String key(Phase p) {
        return "full-rsa".equals(p.id()) ? "rsa" : "ecdsa";
    }

    private void collectWarnings() {
        if ("1".equals(fact("quick", "0"))) {
            warnings.add("Quick smoke run: one short run per proxy and phase; the numbers are not a measurement "
                + "to quote.");
        }
        for (String target : List.of(REFERENCE, CANDIDATE)) {
            for (String k : List.of("ecdsa", "rsa")) {
                String s = results.status(target + "-" + k);
                if (s != null && !"ok".equals(s)) {
                    warnings.add(target + "-" + k + ": " + s);
                }
            }
        }
        for (Phase p : phases) {
            for (String target : List.of(REFERENCE, CANDIDATE)) {
                List<Double> held = results.values(p.id(), target, "mode_held");
                List<Double> shares = results.values(p.id(), target, "resumed_share");
                for (int i = 0; i < held.size(); i++) {
                    if (held.get(i) < 1) {
                        double share = i < shares.size() ? shares.get(i) : Double.NaN;
                        warnings.add(String.format(Locale.ROOT, "**%s, %s, run %d: %s** (%.1f%% of handshakes "
                                + "resumed). %s", p.id(), target, i + 1,
                            "resumed".equals(p.id()) ? "RESUMPTION FAILED" : "a full-handshake run resumed sessions",
                            100 * share, "resumed".equals(p.id())
                                ? "Its rate is not a resumed-handshake rate: the server did not accept the offered "
                                    + "tickets (tickets off, keys not shared, or a bug)."
                                : "The client must never offer a session in full mode."));
                    }
                }
                double proxy = results.median(p.id(), target, "proxy_busy");
                double client = results.median(p.id(), target, "client_busy");
                if (!Double.isNaN(proxy) && proxy < SATURATED_PERCENT) {
                    warnings.add(String.format(Locale.ROOT, "%s, %s: the proxy was only %.0f%% busy (client %.0f%%):"
                            + " the load side set the rate; compare the per proxy-CPU-second figures.", p.id(), target,
                        proxy, client));
                }
                double errors = results.sum(p.id(), target, "errors");
                if (errors > 0) {
                    warnings.add(String.format(Locale.ROOT, "%s, %s: %s errors over all runs; see the raw outputs.",
                        p.id(), target, count(errors)));
                }
                double other = results.median(p.id(), target, "other_cpu");
                if (other > 5) {
                    warnings.add(String.format(Locale.ROOT, "%s, %s: processes outside the lab used %.0f%% of a "
                        + "CPU during the runs.", p.id(), target, other));
                }
            }
        }
    }

    // ------------------------------------------------------------------ formatting

    private String fact(String key, String otherwise) {
        String v = facts.get(key);
        return v == null || v.isEmpty() ? otherwise : v;
    }

    private static String percent(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.0f%%", v);
    }
}
