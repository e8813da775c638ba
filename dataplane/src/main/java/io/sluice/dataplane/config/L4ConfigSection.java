package io.sluice.dataplane.config;

import static io.sluice.dataplane.config.ConfigLoader.*;

import io.sluice.routetable.Endpoint;
import io.sluice.routetable.L4Service;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code l4:} section of the data plane's config, as strict as the rest of {@link ConfigLoader}:
 *
 * <pre>
 * l4:
 *   connectTimeoutMs: 2000     # per backend; the next one is tried before any byte is forwarded
 *   connectAttempts: 3
 *   idleMs: 600000             # TCP, no data either way
 *   drainTimeoutMs: 30000      # flows on removed/draining endpoints or ports keep going this long at most
 *   udpIdleMs: 60000
 *   udpMaxFlows: 65536         # per shard and service (least recently used evicted)
 *   splice: true               # zero-copy TCP forwarding; false: pooled buffers
 *   maglevTableSize: 65537     # prime
 *   services:                  # static L4 services (the agent's tables replace them, like backends/routes)
 *     - {name: echo, protocol: TCP, port: 7000, endpoints: ["10.0.0.5:7", "10.0.0.6:7"],
 *        affinityTimeoutSeconds: 0, proxyProtocol: false}
 * </pre>
 */
final class L4ConfigSection {
    private static final Set<String> KEYS = Set.of("connectTimeoutMs", "connectAttempts", "idleMs", "drainTimeoutMs",
        "udpIdleMs", "udpMaxFlows", "splice", "maglevTableSize", "services");

    private L4ConfigSection() {
    }

    static L4Settings settings(Map<String, Object> root) {
        if (!root.containsKey("l4")) {
            return L4Settings.DEFAULT;
        }
        Map<String, Object> m = map(root.get("l4"), "l4");
        keys(m, "l4", KEYS);
        L4Settings d = L4Settings.DEFAULT;
        int table = posInt(m.getOrDefault("maglevTableSize", d.maglevTableSize()), "l4.maglevTableSize");
        if (!L4Service.isPrime(table) || table < 3) {
            throw new ConfigException("l4.maglevTableSize: " + table + " is not a prime >= 3 (e.g. 65537, 655373)");
        }
        return new L4Settings(
            posInt(m.getOrDefault("connectTimeoutMs", d.connectTimeoutMs()), "l4.connectTimeoutMs"),
            posInt(m.getOrDefault("connectAttempts", d.connectAttempts()), "l4.connectAttempts"),
            posInt(m.getOrDefault("idleMs", d.idleMs()), "l4.idleMs"),
            posInt(m.getOrDefault("drainTimeoutMs", d.drainTimeoutMs()), "l4.drainTimeoutMs"),
            posInt(m.getOrDefault("udpIdleMs", d.udpIdleMs()), "l4.udpIdleMs"),
            posInt(m.getOrDefault("udpMaxFlows", d.udpMaxFlows()), "l4.udpMaxFlows"),
            !m.containsKey("splice") || bool(m.get("splice"), "l4.splice"),
            table);
    }

    static List<L4Service> services(Map<String, Object> root) {
        if (!root.containsKey("l4")) {
            return List.of();
        }
        Map<String, Object> m = map(root.get("l4"), "l4");
        List<Object> ss = list(m.getOrDefault("services", List.of()), "l4.services");
        List<L4Service> out = new ArrayList<>(ss.size());
        Set<String> listen = new HashSet<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < ss.size(); i++) {
            String at = "l4.services[" + i + "]";
            Map<String, Object> s = map(ss.get(i), at);
            keys(s, at, Set.of("name", "protocol", "port", "endpoints", "affinityTimeoutSeconds", "proxyProtocol"));
            String name = str(s.get("name"), at + ".name");
            L4Service.Protocol protocol;
            try {
                protocol = L4Service.Protocol.parse(str(s.getOrDefault("protocol", "TCP"), at + ".protocol"));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(at + ".protocol: " + e.getMessage());
            }
            int port = port(s.get("port"), at + ".port");
            List<Endpoint> eps = new ArrayList<>();
            List<Object> el = list(s.getOrDefault("endpoints", List.of()), at + ".endpoints");
            for (int j = 0; j < el.size(); j++) {
                try {
                    eps.add(Endpoint.parse(str(el.get(j), at + ".endpoints[" + j + "]"), 1));
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(at + ".endpoints[" + j + "]: " + e.getMessage());
                }
            }
            int affinity = 0;
            if (s.containsKey("affinityTimeoutSeconds")) {
                affinity = posInt(s.get("affinityTimeoutSeconds"), at + ".affinityTimeoutSeconds");
            }
            boolean pp = s.containsKey("proxyProtocol") && bool(s.get("proxyProtocol"), at + ".proxyProtocol");
            if (!names.add(name)) {
                throw new ConfigException(at + ".name: L4 service '" + name + "' is defined twice");
            }
            if (!listen.add(protocol + "/" + port)) {
                throw new ConfigException(at + ".port: another L4 service already listens on " + protocol + " " + port);
            }
            try {
                out.add(new L4Service(name, protocol, port, eps, affinity, pp, 0));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(at + ": " + e.getMessage());
            }
        }
        return out;
    }
}
