package io.sluice.agent.source;

import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.LoadBalancerIngressBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressLoadBalancerIngressBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.sluice.agent.ClusterState;
import io.sluice.agent.compile.ObjectRef;

import java.util.ArrayList;
import java.util.List;

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
        List<IngressLoadBalancerIngress> have = new ArrayList<>();
        if (cur.getStatus() != null && cur.getStatus().getLoadBalancer() != null
                && cur.getStatus().getLoadBalancer().getIngress() != null) {
            for (LoadBalancerIngress a : cur.getStatus().getLoadBalancer().getIngress()) {
                have.add(new IngressLoadBalancerIngressBuilder().withIp(a.getIp()).withHostname(a.getHostname())
                    .build());
            }
        }
        if (KubernetesSource.sameAddresses(have, addresses)) {
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
}
