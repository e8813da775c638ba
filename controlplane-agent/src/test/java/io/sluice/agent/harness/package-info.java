/**
 * What the two-process test and the latency benchmarks share: HTTP origins and a keep-alive client on loopback
 * ({@link io.sluice.agent.harness.LoopbackOrigin}, {@link io.sluice.agent.harness.LoopbackClient}), child JVMs
 * ({@link io.sluice.agent.harness.ChildJvm}) and manifests written the way an editor or a ConfigMap update does
 * ({@link io.sluice.agent.harness.ManifestFiles}). Plain blocking sockets on purpose: the client must not share
 * code with the data plane it checks.
 */
package io.sluice.agent.harness;
