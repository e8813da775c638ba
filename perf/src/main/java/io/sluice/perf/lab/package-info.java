/**
 * The report side of the load lab: perf/lab.sh measures and appends raw numbers to {@code results.tsv};
 * {@link io.sluice.perf.lab.LabReport} takes medians and ratios to nginx and writes the terminal summary and
 * the generated section of BENCHMARKS.md. Nothing here runs on a measured path.
 */
package io.sluice.perf.lab;
