package io.sluice.agent.source;

import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.LoadBalancerIngressBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngress;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.sluice.agent.ClusterState;
import io.sluice.agent.compile.ObjectRef;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * {@code status.loadBalancer.ingress} of the LoadBalancer Services Sluice serves at L4 (issue 6): the same node
 * addresses as the Ingresses get, written only where they differ (the write comes back through the informer, which
 * ignores status-only changes).
 */
final class ServiceStatus {
    private static final System.Logger LOG = System.getLogger("io.sluice.agent");

    private ServiceStatus() {
    }

    /** Returns whether the Service's status was written. */
    static boolean update(KubernetesClient client, ClusterState state, ObjectRef ref,
                          List<IngressLoadBalancerIngress> addresses) {
        Service cur = state.service(ref.namespace(), ref.name());
        if (cur == null) {
            return false;
        }
        List<LoadBalancerIngress> want = new ArrayList<>(addresses.size());
        for (IngressLoadBalancerIngress a : addresses) {
            want.add(new LoadBalancerIngressBuilder().withIp(a.getIp()).withHostname(a.getHostname()).build());
        }
        List<LoadBalancerIngress> have = cur.getStatus() == null || cur.getStatus().getLoadBalancer() == null
            || cur.getStatus().getLoadBalancer().getIngress() == null ? List.of()
            : cur.getStatus().getLoadBalancer().getIngress();
        if (same(have, want)) {
            return false;
        }
        try {
            client.services().inNamespace(ref.namespace()).withName(ref.name())
                .editStatus(s -> new ServiceBuilder(s).editOrNewStatus().withNewLoadBalancer()
                    .withIngress(want).endLoadBalancer().endStatus().build());
            return true;
        } catch (KubernetesClientException e) {
            LOG.log(System.Logger.Level.WARNING, "could not update status of " + ref + ": " + e.getMessage());
            return false;
        }
    }

    private static boolean same(List<LoadBalancerIngress> a, List<LoadBalancerIngress> b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (int i = 0; i < a.size(); i++) {
            if (!Objects.equals(a.get(i).getIp(), b.get(i).getIp())
                    || !Objects.equals(a.get(i).getHostname(), b.get(i).getHostname())) {
                return false;
            }
        }
        return true;
    }
}
