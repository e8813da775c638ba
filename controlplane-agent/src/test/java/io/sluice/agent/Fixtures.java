package io.sluice.agent;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPath;
import io.fabric8.kubernetes.api.model.networking.v1.HTTPIngressPathBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackendBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClassBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRule;
import io.fabric8.kubernetes.api.model.networking.v1.IngressRuleBuilder;
import io.fabric8.kubernetes.api.model.networking.v1.IngressTLS;
import io.fabric8.kubernetes.api.model.networking.v1.IngressTLSBuilder;
import io.sluice.agent.compile.IngressCompiler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Small builders for the Kubernetes objects the tests feed the agent. */
public final class Fixtures {
    private Fixtures() {
    }

    public static IngressClass ingressClass(String name, String controller, boolean isDefault) {
        IngressClassBuilder b = new IngressClassBuilder().withNewMetadata().withName(name).endMetadata()
            .withNewSpec().withController(controller).endSpec();
        if (isDefault) {
            b.editMetadata().addToAnnotations(IngressCompiler.DEFAULT_CLASS_ANNOTATION, "true").endMetadata();
        }
        return b.build();
    }

    public static IngressClass ourClass() {
        return ingressClass("sluice", IngressCompiler.CONTROLLER, false);
    }

    public static ServicePort port(String name, int port, int targetPort) {
        return new ServicePortBuilder().withName(name).withPort(port).withProtocol("TCP")
            .withTargetPort(new IntOrString(targetPort)).build();
    }

    public static Service service(String ns, String name, ServicePort... ports) {
        return new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata()
            .withNewSpec().withType("ClusterIP").withPorts(ports).endSpec().build();
    }

    public static Service externalService(String ns, String name, String externalName) {
        return new ServiceBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata()
            .withNewSpec().withType("ExternalName").withExternalName(externalName).endSpec().build();
    }

    public static Endpoint ep(String address, Boolean ready, Boolean serving, Boolean terminating) {
        return new EndpointBuilder().withAddresses(address).withNewConditions().withReady(ready)
            .withServing(serving).withTerminating(terminating).endConditions().build();
    }

    public static Endpoint ready(String address) {
        return ep(address, true, true, false);
    }

    public static EndpointSlice slice(String ns, String name, String service, String portName, int port,
                                      Endpoint... endpoints) {
        return new EndpointSliceBuilder().withNewMetadata().withNamespace(ns).withName(name)
            .addToLabels(IngressCompiler.SERVICE_NAME_LABEL, service).endMetadata()
            .withAddressType("IPv4")
            .addNewPort().withName(portName).withPort(port).withProtocol("TCP").endPort()
            .withEndpoints(endpoints).build();
    }

    public static String resource(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String testCertificate() {
        return resource("/tls/test.crt");
    }

    public static String testKey() {
        return resource("/tls/test.key");
    }

    public static Secret tlsSecret(String ns, String name) {
        Map<String, String> data = new HashMap<>();
        data.put("tls.crt", Base64.getEncoder().encodeToString(testCertificate().getBytes(StandardCharsets.US_ASCII)));
        data.put("tls.key", Base64.getEncoder().encodeToString(testKey().getBytes(StandardCharsets.US_ASCII)));
        return new SecretBuilder().withNewMetadata().withNamespace(ns).withName(name).endMetadata()
            .withType(IngressCompiler.TLS_SECRET_TYPE).withData(data).build();
    }

    public static IngressBackend svc(String name, int port) {
        return new IngressBackendBuilder().withNewService().withName(name).withNewPort().withNumber(port).endPort()
            .endService().build();
    }

    public static IngressBackend svc(String name, String portName) {
        return new IngressBackendBuilder().withNewService().withName(name).withNewPort().withName(portName).endPort()
            .endService().build();
    }

    public static HTTPIngressPath path(String type, String path, IngressBackend backend) {
        return new HTTPIngressPathBuilder().withPathType(type).withPath(path).withBackend(backend).build();
    }

    public static IngressRule rule(String host, HTTPIngressPath... paths) {
        return new IngressRuleBuilder().withHost(host).withNewHttp().withPaths(paths).endHttp().build();
    }

    public static IngressTLS tls(String secret, String... hosts) {
        return new IngressTLSBuilder().withSecretName(secret).withHosts(hosts).build();
    }

    /** A fluent Ingress. */
    public static Ing ingress(String ns, String name) {
        return new Ing(ns, name);
    }

    public static final class Ing {
        private final String ns;
        private final String name;
        private String className = "sluice";
        private String created;
        private final Map<String, String> annotations = new HashMap<>();
        private final List<IngressRule> rules = new ArrayList<>();
        private final List<IngressTLS> tls = new ArrayList<>();
        private IngressBackend defaultBackend;

        Ing(String ns, String name) {
            this.ns = ns;
            this.name = name;
        }

        public Ing className(String c) {
            className = c;
            return this;
        }

        public Ing created(String ts) {
            created = ts;
            return this;
        }

        public Ing annotate(String k, String v) {
            annotations.put(k, v);
            return this;
        }

        public Ing rule(String host, HTTPIngressPath... paths) {
            rules.add(Fixtures.rule(host, paths));
            return this;
        }

        public Ing tls(String secret, String... hosts) {
            tls.add(Fixtures.tls(secret, hosts));
            return this;
        }

        public Ing defaultBackend(IngressBackend b) {
            defaultBackend = b;
            return this;
        }

        public Ingress build() {
            return new IngressBuilder().withNewMetadata().withNamespace(ns).withName(name)
                .withCreationTimestamp(created).withAnnotations(annotations.isEmpty() ? null : annotations)
                .endMetadata()
                .withNewSpec().withIngressClassName(className).withRules(rules.isEmpty() ? null : rules)
                .withTls(tls.isEmpty() ? null : tls).withDefaultBackend(defaultBackend).endSpec()
                .build();
        }
    }
}
