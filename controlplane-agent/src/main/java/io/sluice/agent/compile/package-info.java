/**
 * Ingress v1 semantics: {@link io.sluice.agent.compile.IngressCompiler} turns Kubernetes objects into a
 * {@link io.sluice.routetable.RouteTable}, reporting {@link io.sluice.agent.compile.Problem}s as it goes.
 * Pure functions of a {@link io.sluice.agent.compile.ClusterView}: no I/O.
 */
package io.sluice.agent.compile;
