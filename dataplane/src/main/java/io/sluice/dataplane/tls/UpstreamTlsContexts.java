package io.sluice.dataplane.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.sluice.routetable.BackendProtocol;
import io.sluice.routetable.UpstreamTls;

/**
 * Client contexts for backends that speak TLS (ingress-nginx's {@code backend-protocol: HTTPS | GRPCS} with its
 * {@code proxy-ssl-*} settings). Built once per backend change, shared by every shard. Without {@code verify} the
 * endpoint's certificate is not checked, as nginx's {@code proxy_ssl_verify off} default; with it, the chain must lead
 * to the given CA and, when a server name is set, the certificate must be for that name.
 */
public final class UpstreamTlsContexts {
    private UpstreamTlsContexts() {
    }

    public static SslContext build(UpstreamTls t, BackendProtocol protocol) throws Exception {
        SslContextBuilder b = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL)
            .protocols("TLSv1.3", "TLSv1.2");
        if (t.verify()) {
            b.trustManager(Pem.certificates(t.caPem()));
            if (!t.serverName().isEmpty()) {
                b.endpointIdentificationAlgorithm("HTTPS");
            } else {
                b.endpointIdentificationAlgorithm(null);
            }
        } else {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
        }
        if (!t.clientChainPem().isEmpty()) {
            b.keyManager(Pem.privateKey(t.clientKeyPem()),
                Pem.certificates(t.clientChainPem()).toArray(new java.security.cert.X509Certificate[0]));
        }
        String alpn = protocol.http2() ? ApplicationProtocolNames.HTTP_2 : ApplicationProtocolNames.HTTP_1_1;
        b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
        return b.build();
    }
}
