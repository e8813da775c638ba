/**
 * The control-plane agent: {@link io.sluice.agent.AgentMain} (command line), {@link io.sluice.agent.ClusterState}
 * (what the sources know), {@link io.sluice.agent.Agent} (the compile-and-publish loop) and
 * {@link io.sluice.agent.ProblemReporter}. See the module's README.md.
 */
package io.sluice.agent;
