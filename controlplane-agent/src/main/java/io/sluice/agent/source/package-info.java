/**
 * Where objects come from: {@link io.sluice.agent.source.KubernetesSource} (informers, plus Events and Ingress status
 * back into the cluster) and {@link io.sluice.agent.source.ManifestsSource} (a watched directory of manifests).
 */
package io.sluice.agent.source;
