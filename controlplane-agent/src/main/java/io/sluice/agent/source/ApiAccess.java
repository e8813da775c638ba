package io.sluice.agent.source;

import java.util.List;
import java.util.Objects;

/**
 * Every Kubernetes API call the agent makes, as RBAC rules: the single source of truth for the agent's ClusterRole.
 *
 * <p>Two tests keep it honest. {@code ApiAccessTest} (this module) runs {@link KubernetesSource} against the mock API
 * server, records every request it sends and fails if one is not covered here, or if a rule here is never exercised.
 * The deploy tests fail if {@code k8s/rbac.yaml} grants anything other than exactly these rules. A new call in the
 * agent therefore changes this list, and the manifest follows; RBAC cannot drift silently either way.
 */
public final class ApiAccess {
    private ApiAccess() {
    }

    /**
     * One RBAC rule.
     *
     * @param group    API group ({@code ""} for the core group)
     * @param resource resource, with {@code /subresource} where it is one ({@code ingresses/status})
     * @param verbs    the verbs the agent uses on it
     * @param why      which code calls it
     * @param pending  true while the calling code lives on another branch (not exercised by this module's tests yet)
     */
    public record Rule(String group, String resource, List<String> verbs, String why, boolean pending) {
        public Rule {
            Objects.requireNonNull(group, "group");
            Objects.requireNonNull(resource, "resource");
            verbs = List.copyOf(verbs);
            Objects.requireNonNull(why, "why");
        }

        Rule(String group, String resource, List<String> verbs, String why) {
            this(group, resource, verbs, why, false);
        }
    }

    /** The rules, in the order {@code k8s/rbac.yaml} lists them. */
    public static final List<Rule> RULES = List.of(
        new Rule("networking.k8s.io", "ingresses", List.of("get", "list", "watch"),
            "informer (list + watch); editStatus reads the Ingress before patching its status"),
        new Rule("networking.k8s.io", "ingresses/status", List.of("patch"),
            "KubernetesSource.publishStatus: status.loadBalancer.ingress (--status-address / --publish-node)"),
        new Rule("networking.k8s.io", "ingressclasses", List.of("list", "watch"), "informer"),
        new Rule("", "services", List.of("get", "list", "watch"),
            "informer; ServiceStatus (editStatus) reads an L4 Service before patching its status"),
        new Rule("", "services/status", List.of("patch"),
            "ServiceStatus: status.loadBalancer.ingress of Services with loadBalancerClass sluice.io/l4 (issue 6)"),
        new Rule("discovery.k8s.io", "endpointslices", List.of("list", "watch"), "informer"),
        new Rule("", "secrets", List.of("list", "watch"), "informer, field selector type=kubernetes.io/tls only"),
        new Rule("", "events", List.of("create"), "KubernetesSource.recordEvent: problems as Warning Events"),
        new Rule("", "nodes", List.of("get"), "KubernetesSource.nodeAddresses: --publish-node / $NODE_NAME"));

    /** True if some rule grants {@code verb} on {@code resource} of {@code group}. */
    public static boolean allows(String group, String resource, String verb) {
        for (Rule r : RULES) {
            if (r.group().equals(group) && r.resource().equals(resource) && r.verbs().contains(verb)) {
                return true;
            }
        }
        return false;
    }
}
