/**
 * The agent's benchmarks: mains run by hand with {@code controlplane-agent/bench.sh NAME [args]}, never unit tests
 * (nothing here asserts a time). Method and figures: the module's README and the repository's BENCHMARKS.md.
 */
package io.sluice.agent.bench;
