/**
 * A constant-rate HTTP/1.1 load generator that measures latency from each request's intended send time
 * (free of coordinated omission), for the load lab's latency phase where wrk2 is not installed.
 *
 * <p>Entry point {@link io.sluice.perf.loadgen.RateGenerator}; the measuring engine is
 * {@code ConstantRateClient}, one Netty event loop that owns all state; {@link
 * io.sluice.perf.loadgen.ResponseFramer} finds response boundaries without allocating.
 */
package io.sluice.perf.loadgen;
