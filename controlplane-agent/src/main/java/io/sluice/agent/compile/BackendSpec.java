package io.sluice.agent.compile;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.sluice.routetable.BackendProtocol;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.UpstreamTls;

/**
 * A backend as the route phase resolved it: which Service port, so the endpoint phase can find its endpoints in the
 * EndpointSlices without looking at any Ingress again.
 *
 * @param name         the backend's name in the table: {@code namespace/service:port}
 * @param resolved     false when the Service or port is unknown, or the backend is a resource: no endpoints (503)
 * @param portName     the Service port's name ({@code ""} for an unnamed port): EndpointSlice ports carry it
 * @param port         the Service port's number
 * @param targetPort   the Service port's targetPort, used for ExternalName Services
 * @param externalName the Service's externalName when its type is ExternalName, else null
 * @param protocol     how the data plane speaks to the endpoints (backend-protocol annotation or port appProtocol)
 * @param upstreamTls  the proxy-ssl-* settings for a TLS protocol, or null
 */
public record BackendSpec(String name, boolean resolved, String namespace, String service, String portName, int port,
                          IntOrString targetPort, String externalName, Balancer balancer, BackendProtocol protocol,
                          UpstreamTls upstreamTls) {
    static BackendSpec unresolved(String name, BackendProtocol protocol) {
        return new BackendSpec(name, false, "", "", "", 0, null, null, Balancer.ROUND_ROBIN, protocol, null);
    }
}
