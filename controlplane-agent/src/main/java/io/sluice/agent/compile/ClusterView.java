package io.sluice.agent.compile;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import java.util.Collection;

/** What the compiler reads: the current objects, whichever source they came from. */
public interface ClusterView {
    Collection<Ingress> ingresses();

    Collection<IngressClass> ingressClasses();

    IngressClass ingressClass(String name);

    Service service(String namespace, String name);

    /** The EndpointSlices labelled {@code kubernetes.io/service-name=<service>} in {@code namespace}. */
    Collection<EndpointSlice> endpointSlices(String namespace, String service);

    Secret secret(String namespace, String name);

    /** Every Service (L4 load balancing reads those of type LoadBalancer with our class). */
    default Collection<Service> services() {
        return java.util.List.of();
    }
}
