package io.sluice.agent.compile;

import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.VirtualHost;
import java.util.List;

/**
 * The output of the route phase: everything of a table but the endpoints. The agent keeps the last plan and, when only
 * EndpointSlices changed, runs just the endpoint phase over it ({@link IngressCompiler#resolveEndpoints}); the table
 * then shares this plan's {@link #hosts()} list, which the route-file writer recognises (by identity) as "routes
 * unchanged".
 *
 * @param hosts            virtual hosts, sorted by name; paths in precedence order (longest first, Exact before
 *                         Prefix on equal paths)
 * @param backends         backends sorted by name; PathRule indexes point into this list
 * @param defaultBackend   index, or -1
 * @param tls              certificates, sorted by name
 * @param claimedIngresses the Ingresses this controller serves, and the LoadBalancer Services of our L4 class (kind
 *                         {@code Service}): their status gets our addresses
 * @param problems         what was wrong, sorted
 * @param pathCount        number of path rules in {@code hosts}
 */
public record RoutePlan(List<VirtualHost> hosts, List<BackendSpec> backends, int defaultBackend,
                        List<TlsCertificate> tls, List<ObjectRef> claimedIngresses, List<Problem> problems,
                        int pathCount) {
}
