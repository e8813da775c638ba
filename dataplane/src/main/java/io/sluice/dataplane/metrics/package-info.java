/**
 * Request metrics without a lock or an allocation on the request path.
 *
 * <p>{@link io.sluice.dataplane.metrics.ShardMetrics}: per-shard {@code long[]} counters and fixed-bucket histograms
 * ({@link io.sluice.dataplane.metrics.LatencyBuckets}), written by the shard's thread only.
 * {@link io.sluice.dataplane.metrics.RouteSeries}: route label sets numbered once, when a table is compiled, so that a
 * request finds its counters by index. {@link io.sluice.dataplane.metrics.SluiceCollector}: a simpleclient collector that
 * reads the shards' published blocks at scrape time on the admin thread. Names and labels: docs/METRICS.md.
 *
 * <p>Nullness: arguments and results are non-null unless documented.
 */
package io.sluice.dataplane.metrics;
