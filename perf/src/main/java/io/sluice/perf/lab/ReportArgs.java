package io.sluice.perf.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The command line the lab reports share ({@link LabReport}, {@link TlsLabReport}): where the results and facts are,
 * where to write the markdown section, and whether to update BENCHMARKS.md (only when the run was undisturbed if
 * asked so); and the publishing that follows.
 */
final class ReportArgs {
    Path results;
    Path facts;
    Path sectionOut;
    Path benchmarks;
    boolean onlyIfUndisturbed;

    /** Parses the arguments; prints usage and exits 2 on a bad or missing one. */
    static ReportArgs parse(String tool, String[] args) {
        ReportArgs a = new ReportArgs();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--results" -> a.results = Path.of(args[++i]);
                case "--facts" -> a.facts = Path.of(args[++i]);
                case "--section-out" -> a.sectionOut = Path.of(args[++i]);
                case "--benchmarks" -> a.benchmarks = Path.of(args[++i]);
                case "--if-undisturbed" -> a.onlyIfUndisturbed = true;
                default -> {
                    System.err.println(tool + ": unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (a.results == null || a.facts == null) {
            System.err.println("usage: " + tool + " --results results.tsv --facts facts.txt "
                + "[--section-out FILE] [--benchmarks BENCHMARKS.md [--if-undisturbed]]");
            System.exit(2);
        }
        return a;
    }

    /**
     * Prints {@code text}, writes {@code section} to the section file, and puts it into BENCHMARKS.md between
     * {@code begin} and {@code end} unless the run was disturbed and only undisturbed runs may be published.
     */
    void publish(String what, String text, String section, boolean disturbed, double disturbedPercent, String begin,
                 String end, String preamble) throws IOException {
        System.out.print(text);
        if (sectionOut != null) {
            Files.writeString(sectionOut, section, StandardCharsets.UTF_8);
        }
        if (benchmarks != null && onlyIfUndisturbed && disturbed) {
            System.out.printf(Locale.ROOT, "Not updating %s: processes outside the lab used more than %.0f%% of a "
                + "CPU during this run, so it would replace the published numbers with noisier ones. Run again on a "
                + "quieter machine, or pass --write to publish these anyway.%n", benchmarks, disturbedPercent);
        } else if (benchmarks != null) {
            BenchmarksFile.update(benchmarks, section, begin, end, preamble);
            System.out.println("Updated the " + what + " section of " + benchmarks);
        }
    }
}
