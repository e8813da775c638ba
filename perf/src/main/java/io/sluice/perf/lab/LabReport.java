package io.sluice.perf.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns one lab run's raw results into the terminal summary and the generated section of BENCHMARKS.md.
 *
 * <p>perf/lab.sh does the measuring and appends raw numbers to {@code results.tsv} (see {@link LabResults});
 * it records the facts about the machine and the method in {@code facts.txt} ({@code key=value} lines).
 * This class only reads those two files, so a report can be regenerated from a kept results directory:
 * <pre>
 * java -cp perf/target/benchmarks.jar io.sluice.perf.lab.LabReport \
 *     --results perf/target/lab/STAMP/results.tsv --facts perf/target/lab/STAMP/facts.txt \
 *     [--section-out FILE] [--benchmarks BENCHMARKS.md [--if-undisturbed]]
 * </pre>
 * With {@code --benchmarks}, the text between {@value BenchmarksFile#BEGIN} and {@value BenchmarksFile#END}
 * in that file is replaced (the file is created, or the section appended, when missing); with
 * {@code --if-undisturbed} only when processes outside the lab stayed below {@link #DISTURBED_PERCENT}.
 *
 * <p>Every ratio compares medians measured in the same invocation of the lab, never numbers from another day.
 */
public final class LabReport {

    static final String REFERENCE = "nginx";
    static final String CANDIDATE = "sluice";
    static final String ORIGIN = "origin";
    static final double THROUGHPUT_GOAL = 1.25;
    /** Median CPU use outside the lab, in % of one CPU, above which a run does not replace published numbers. */
    static final double DISTURBED_PERCENT = 25;

    private final LabResults results;
    private final Map<String, String> facts;
    private final List<String> proxies;
    private final List<String> warnings = new ArrayList<>();

    LabReport(LabResults results, Map<String, String> facts) {
        this.results = results;
        this.facts = facts;
        this.proxies = List.of(fact("proxies", "nginx,haproxy,sluice").split(","));
        collectWarnings();
    }

    public static void main(String[] args) throws IOException {
        Path resultsFile = null;
        Path factsFile = null;
        Path sectionOut = null;
        Path benchmarks = null;
        boolean onlyIfUndisturbed = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--results" -> resultsFile = Path.of(args[++i]);
                case "--facts" -> factsFile = Path.of(args[++i]);
                case "--section-out" -> sectionOut = Path.of(args[++i]);
                case "--benchmarks" -> benchmarks = Path.of(args[++i]);
                case "--if-undisturbed" -> onlyIfUndisturbed = true;
                default -> {
                    System.err.println("LabReport: unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (resultsFile == null || factsFile == null) {
            System.err.println("usage: LabReport --results results.tsv --facts facts.txt "
                + "[--section-out FILE] [--benchmarks BENCHMARKS.md]");
            System.exit(2);
        }
        LabReport report = new LabReport(LabResults.read(resultsFile), readFacts(factsFile));
        System.out.print(report.text());
        String section = report.markdown();
        if (sectionOut != null) {
            Files.writeString(sectionOut, section, StandardCharsets.UTF_8);
        }
        if (benchmarks != null && onlyIfUndisturbed && report.disturbed()) {
            System.out.printf(Locale.ROOT, "Not updating %s: processes outside the lab used more than %.0f%% of a "
                + "CPU during this run, so it would replace the published numbers with noisier ones. Run again on a "
                + "quieter machine, or pass --write to publish these anyway.%n", benchmarks, DISTURBED_PERCENT);
        } else if (benchmarks != null) {
            BenchmarksFile.update(benchmarks, section, BenchmarksFile.BEGIN, BenchmarksFile.END, "## Load lab\n\n");
            System.out.println("Updated the lab section of " + benchmarks);
        }
    }

    static Map<String, String> readFacts(Path file) throws IOException {
        Map<String, String> facts = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("#")) {
                facts.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
            }
        }
        return facts;
    }

    /** True when, for some proxy, processes outside the lab used much CPU during its runs (median). */
    boolean disturbed() {
        for (String p : proxies) {
            if (results.median(LabResults.MAX, p, "other_cpu") > DISTURBED_PERCENT
                    || results.median(LabResults.LAT, p, "other_cpu") > DISTURBED_PERCENT) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ rendering

    /** The terminal summary. */
    String text() {
        StringBuilder sb = new StringBuilder();
        sb.append('\n').append("Sluice load lab, ").append(fact("date", "?")).append('\n');
        sb.append("  ").append(methodLine()).append('\n');
        sb.append('\n').append("Max throughput (wrk, req/s, median of runs; x nginx = ratio to nginx in this lab run)\n");
        sb.append(throughputTable().text("  "));
        double origin = results.median(LabResults.MAX, ORIGIN, "rps");
        if (!Double.isNaN(origin)) {
            sb.append("  origin without a proxy (the load side's ceiling): ").append(count(origin)).append(" req/s\n");
        }
        sb.append('\n').append(latencyTitle()).append('\n');
        sb.append(latencyTable().text("  "));
        sb.append('\n').append("Goals (issue 2)\n");
        sb.append(goalsTable().text("  "));
        if (!warnings.isEmpty()) {
            sb.append('\n').append("Notes\n");
            for (String w : warnings) {
                sb.append("  - ").append(w).append('\n');
            }
        }
        return sb.toString();
    }

    /** The generated BENCHMARKS.md section, markers excluded. */
    String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("<!-- Generated by perf/lab.sh (io.sluice.perf.lab.LabReport); edits here are overwritten. -->\n\n");
        sb.append("### Latest lab run\n\n");
        if ("1".equals(fact("quick", "0"))) {
            sb.append("> **Quick smoke run** (`--quick`: one short run per proxy). It shows that the lab works, "
                + "not how fast anything is; do not quote these numbers.\n\n");
        }
        Table facts = new Table("", "");
        facts.row("Date", fact("date", "?"));
        facts.row("Command", "`" + fact("command", "bin/sluice perf lab") + "`");
        facts.row("CPU", fact("cpu_model", "?") + ", " + fact("cpus", "?") + " CPUs"
            + (fact("hypervisor", "").isEmpty() ? "" : ", virtualised (" + fact("hypervisor", "") + ")"));
        facts.row("Kernel", fact("kernel", "?"));
        facts.row("Proxies", "nginx " + fact("nginx_version", "?") + ", HAProxy " + fact("haproxy_version", "?")
            + ", Sluice " + fact("sluice_commit", "?"));
        facts.row("Load", "wrk " + fact("wrk_version", "?") + " for max req/s; " + fact("latency_tool", "?")
            + " for latency");
        facts.row("JDK", fact("java_version", "?"));
        facts.row("Pinning", "proxy on CPU " + fact("proxy_cpu", "0") + "; load generator and origin on CPU "
            + fact("load_cpu", "1"));
        sb.append(facts.markdown()).append('\n');

        sb.append("**Method.** ").append(methodParagraph()).append("\n\n");

        sb.append("#### Max throughput\n\n");
        sb.append(throughputTable().markdown());
        double origin = results.median(LabResults.MAX, ORIGIN, "rps");
        if (!Double.isNaN(origin)) {
            sb.append("\nThe origin alone, without a proxy, served ").append(count(origin))
                .append(" req/s with the same wrk settings: the ceiling of the load side.\n");
        }
        sb.append("\n#### ").append(latencyTitle()).append("\n\n");
        sb.append(latencyTable().markdown());
        sb.append("\n#### Goals (issue 2)\n\n");
        sb.append(goalsTable().markdown());
        if (!warnings.isEmpty()) {
            sb.append("\n**Notes on this run**\n\n");
            for (String w : warnings) {
                sb.append("- ").append(w).append('\n');
            }
        }
        return sb.toString();
    }

    private String methodLine() {
        return String.format(Locale.ROOT, "%s run(s) x %s s per proxy after %s s warm-up, %s connections; "
                + "proxy on CPU %s, wrk/generator and origin on CPU %s",
            fact("runs", "?"), fact("duration_s", "?"), fact("warmup_s", "?"), fact("connections", "?"),
            fact("proxy_cpu", "0"), fact("load_cpu", "1"));
    }

    private String methodParagraph() {
        return String.format(Locale.ROOT, """
            One nginx origin answers every request with a %s-byte body on 127.0.0.1. Each proxy \
            (nginx: 1 worker, upstream keep-alive; HAProxy: 1 thread, `http-reuse always`; Sluice: 1 shard) \
            forwards to it, pinned to CPU %s with `taskset`; wrk or the rate generator and the origin share \
            CPU %s. Max throughput: `wrk -t1 -c%s -d%ss` over keep-alive connections after a %s s warm-up, \
            %s run(s) per proxy, interleaved (nginx, HAProxy, Sluice, nginx, ...), median reported. \
            Latency: a constant %s req/s (%s) over %s connections for %s s after %s s unrecorded at the same \
            rate, latency counted from each request's intended send time (coordinated omission corrected), \
            %s run(s) per proxy, medians of each percentile. "Proxy CPU" is the share of that CPU not idle \
            during the max runs (user / kernel / interrupt+softirq), "other load" the CPU time used on the \
            machine by processes outside the lab, from /proc/stat. Raw outputs are kept under \
            `perf/target/lab/`.""",
            fact("body_bytes", "13"), fact("proxy_cpu", "0"), fact("load_cpu", "1"), fact("connections", "64"),
            fact("duration_s", "?"), fact("warmup_s", "?"), fact("runs", "?"), count(latencyRate()),
            fact("lat_rate_basis", "half of nginx's median max"), fact("connections", "64"),
            fact("duration_s", "?"), fact("lat_warmup_s", "?"), fact("runs", "?"));
    }

    private double latencyRate() {
        try {
            return Double.parseDouble(fact("lat_rate", "NaN"));
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private String latencyTitle() {
        return "Latency at " + count(latencyRate()) + " req/s (" + fact("lat_rate_basis", "half of nginx's median max")
            + "), " + fact("latency_tool_short", "constant rate") + ", microseconds, median of runs";
    }

    Table throughputTable() {
        Table t = new Table("Proxy", "req/s (median)>", "min–max>", "× nginx>", "proxy CPU busy>",
            "user / sys / irq>", "errors>", "other load>");
        double ref = results.median(LabResults.MAX, REFERENCE, "rps");
        for (String p : proxies) {
            double rps = results.median(LabResults.MAX, p, "rps");
            if (Double.isNaN(rps)) {
                t.row(p, "not measured", "", "", "", "", "", "see notes");
                continue;
            }
            String range = count(results.min(LabResults.MAX, p, "rps")) + "–" + count(results.max(LabResults.MAX, p, "rps"));
            t.row(p, count(rps), range, ratio(rps, ref), percent(results.median(LabResults.MAX, p, "proxy_busy")),
                percent0(results.median(LabResults.MAX, p, "proxy_user")) + " / "
                    + percent0(results.median(LabResults.MAX, p, "proxy_sys")) + " / "
                    + percent0(results.median(LabResults.MAX, p, "proxy_irq")),
                count(results.sum(LabResults.MAX, p, "errors")),
                percent(results.median(LabResults.MAX, p, "other_cpu")));
        }
        return t;
    }

    Table latencyTable() {
        Table t = new Table("Proxy", "p50>", "p90>", "p99>", "p99.9>", "max>", "p99 × nginx>", "achieved req/s>",
            "errors>", "generator lag p99>");
        double ref = results.median(LabResults.LAT, REFERENCE, "p99_us");
        for (String p : proxies) {
            double p99 = results.median(LabResults.LAT, p, "p99_us");
            if (Double.isNaN(p99)) {
                t.row(p, "not measured", "", "", "", "", "", "", "", "see notes");
                continue;
            }
            t.row(p, micros(results.median(LabResults.LAT, p, "p50_us")),
                micros(results.median(LabResults.LAT, p, "p90_us")), micros(p99),
                micros(results.median(LabResults.LAT, p, "p999_us")),
                micros(results.median(LabResults.LAT, p, "max_us")), ratio(p99, ref),
                count(results.median(LabResults.LAT, p, "achieved_rate")),
                count(results.sum(LabResults.LAT, p, "errors")),
                micros(results.median(LabResults.LAT, p, "send_lag_p99_us")));
        }
        return t;
    }

    Table goalsTable() {
        Table t = new Table("Goal", "Sluice", "Result");
        double refMax = results.median(LabResults.MAX, REFERENCE, "rps");
        double max = results.median(LabResults.MAX, CANDIDATE, "rps");
        t.row("max req/s ≥ 1.25 × nginx's", Double.isNaN(max) || Double.isNaN(refMax) ? "–" : ratio(max, refMax),
            verdict(max / refMax >= THROUGHPUT_GOAL, max, refMax));
        double refP99 = results.median(LabResults.LAT, REFERENCE, "p99_us");
        double p99 = results.median(LabResults.LAT, CANDIDATE, "p99_us");
        t.row("p99 at half nginx's max ≤ nginx's p99",
            Double.isNaN(p99) || Double.isNaN(refP99) ? "–" : ratio(p99, refP99) + " (" + micros(p99) + " vs "
                + micros(refP99) + " µs)",
            verdict(p99 <= refP99, p99, refP99));
        return t;
    }

    private String verdict(boolean met, double measured, double reference) {
        if (Double.isNaN(reference)) {
            return "not measured: nginx has no result";
        }
        if (Double.isNaN(measured)) {
            String why = results.status(CANDIDATE);
            return "not measured" + (why == null || "ok".equals(why) ? "" : ": " + why);
        }
        return met ? "met" : "not met";
    }

    private void collectWarnings() {
        if ("1".equals(fact("quick", "0"))) {
            warnings.add("Quick smoke run: one short run per proxy; the numbers are not a measurement to quote.");
        }
        for (String p : proxies) {
            String s = results.status(p);
            if (s != null && !"ok".equals(s)) {
                warnings.add(p + ": " + s);
            } else if (Double.isNaN(results.median(LabResults.MAX, p, "rps"))
                    || Double.isNaN(results.median(LabResults.LAT, p, "p99_us"))) {
                warnings.add(p + ": some runs gave no result; see the raw outputs.");
            }
            double busy = results.median(LabResults.MAX, p, "proxy_busy");
            if (!Double.isNaN(busy) && busy < 95) {
                warnings.add(String.format(Locale.ROOT, "%s's CPU was only %.0f%% busy at max load: the load "
                    + "side, not %s, may have set its max req/s.", p, busy, p));
            }
            double other = maxIgnoringNaN(results.median(LabResults.MAX, p, "other_cpu"),
                results.median(LabResults.LAT, p, "other_cpu"));
            if (other > 5) {
                warnings.add(String.format(Locale.ROOT, "Processes outside the lab used %.0f%% of a CPU during "
                    + "%s's runs: its numbers are disturbed by them.", other, p));
            }
            double rps = results.median(LabResults.MAX, p, "rps");
            double ceiling = results.median(LabResults.MAX, ORIGIN, "rps");
            if (rps > 0.85 * ceiling) {
                warnings.add(String.format(Locale.ROOT, "%s's max (%s req/s) is within 15%% of what the load side "
                    + "does without any proxy (%s req/s): CPU %s (wrk and the origin) is near its limit too, which "
                    + "compresses the differences between proxies.", p, count(rps), count(ceiling),
                    fact("load_cpu", "1")));
            }
            double target = latencyRate();
            double achieved = results.median(LabResults.LAT, p, "achieved_rate");
            if (!Double.isNaN(achieved) && achieved < 0.98 * target) {
                warnings.add(String.format(Locale.ROOT, "%s did not sustain %s req/s (achieved %s): its latency "
                    + "is that of an overloaded proxy.", p, count(target), count(achieved)));
            }
            double lag = results.median(LabResults.LAT, p, "send_lag_p99_us");
            double p99 = results.median(LabResults.LAT, p, "p99_us");
            if (!Double.isNaN(lag) && lag > 0.5 * p99) {
                warnings.add(String.format(Locale.ROOT, "During %s's latency runs the generator itself sent late "
                    + "(p99 lag %s µs vs p99 %s µs): CPU %s was saturated or disturbed, so the latencies overstate "
                    + "the proxy's.", p, micros(lag), micros(p99), fact("load_cpu", "1")));
            }
            double errors = results.sum(LabResults.MAX, p, "errors") + results.sum(LabResults.LAT, p, "errors");
            if (errors > 0) {
                warnings.add(String.format(Locale.ROOT, "%s: %s failed requests (non-2xx, socket errors, "
                    + "timeouts) over all runs; see the raw outputs.", p, count(errors)));
            }
        }
    }

    // ------------------------------------------------------------------ formatting

    private static double maxIgnoringNaN(double a, double b) {
        return Double.isNaN(a) ? b : Double.isNaN(b) ? a : Math.max(a, b);
    }

    private String fact(String key, String otherwise) {
        String v = facts.get(key);
        return v == null || v.isEmpty() ? otherwise : v;
    }

    static String count(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%,d", Math.round(v));
    }

    static String ratio(double v, double ref) {
        if (Double.isNaN(v) || Double.isNaN(ref) || ref == 0) {
            return "–";
        }
        return String.format(Locale.ROOT, "%.2f", v / ref);
    }

    static String micros(double v) {
        if (Double.isNaN(v)) {
            return "–";
        }
        return v < 100 ? String.format(Locale.ROOT, "%.1f", v) : String.format(Locale.ROOT, "%,d", Math.round(v));
    }

    private static String percent(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.0f%%", v);
    }

    private static String percent0(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.0f", v);
    }
}
