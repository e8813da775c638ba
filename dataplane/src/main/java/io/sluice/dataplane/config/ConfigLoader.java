package io.sluice.dataplane.config;

import io.sluice.dataplane.steering.SteeringMode;
import io.sluice.routetable.Backend;
import io.sluice.routetable.BackendProtocol;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.UpstreamTls;
import io.sluice.routetable.VirtualHost;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the data plane's YAML config. Strict: an unknown key, a wrong type or a dangling backend name fails with the
 * path of the offending field ({@code routes[1].paths[0].backend: unknown backend 'x'}), never a stack trace.
 */
public final class ConfigLoader {
    private ConfigLoader() {
    }

    /** A config problem, with the field it is about. */
    public static final class ConfigException extends RuntimeException {
        public ConfigException(String message) {
            super(message);
        }
    }

    public static DataPlaneConfig load(Path file, long generation) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read: " + e.getMessage());
        }
        try {
            return parse(text, generation);
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage());
        }
    }

    public static DataPlaneConfig parse(String yamlText, long generation) {
        Object root;
        try {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yamlText);
        } catch (RuntimeException e) {
            throw new ConfigException("not valid YAML: " + e.getMessage());
        }
        Map<String, Object> m = map(root == null ? Map.of() : root, "config");
        keys(m, "config", Set.of("listeners", "cpus", "idle", "timeouts", "limits", "upstream", "trustForwarded",
            "backends", "routes", "defaultBackend", "routesFile", "coreMap", "steering", "tls", "admin", "shutdown",
            "accessLog", "health", "outlier", "retry", "backendPolicies", "l4"));

        List<DataPlaneConfig.Listener> listeners = new ArrayList<>();
        List<Object> ls = list(m.getOrDefault("listeners", List.of(Map.of("port", 8080))), "listeners");
        for (int i = 0; i < ls.size(); i++) {
            String at = "listeners[" + i + "]";
            Map<String, Object> l = map(ls.get(i), at);
            keys(l, at, Set.of("port", "address", "tls", "proxyProtocol"));
            listeners.add(new DataPlaneConfig.Listener(str(l.getOrDefault("address", "0.0.0.0"), at + ".address"),
                port(l.get("port"), at + ".port"), l.containsKey("tls") && bool(l.get("tls"), at + ".tls"),
                l.containsKey("proxyProtocol") && bool(l.get("proxyProtocol"), at + ".proxyProtocol")));
        }
        int[] cpus = null;
        if (m.containsKey("cpus")) {
            cpus = parseCpus(String.valueOf(m.get("cpus")));
        }
        IdleMode idle = IdleMode.BLOCK;
        if (m.containsKey("idle")) {
            try {
                idle = IdleMode.parse(str(m.get("idle"), "idle"));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("idle: " + e.getMessage());
            }
        }
        DataPlaneConfig.Timeouts t = DataPlaneConfig.Timeouts.DEFAULT;
        if (m.containsKey("timeouts")) {
            Map<String, Object> tm = map(m.get("timeouts"), "timeouts");
            keys(tm, "timeouts", Set.of("connectMs", "readMs", "idleMs"));
            t = new DataPlaneConfig.Timeouts(
                posInt(tm.getOrDefault("connectMs", t.connectMs()), "timeouts.connectMs"),
                posInt(tm.getOrDefault("readMs", t.readMs()), "timeouts.readMs"),
                posInt(tm.getOrDefault("idleMs", t.idleMs()), "timeouts.idleMs"));
        }
        DataPlaneConfig.Limits lim = DataPlaneConfig.Limits.DEFAULT;
        if (m.containsKey("limits")) {
            Map<String, Object> lm = map(m.get("limits"), "limits");
            keys(lm, "limits", Set.of("maxRequestLineBytes", "maxHeaderBytes", "maxHeaderCount", "maxBodyBytes"));
            lim = new DataPlaneConfig.Limits(
                posInt(lm.getOrDefault("maxRequestLineBytes", lim.maxRequestLineBytes()), "limits.maxRequestLineBytes"),
                posInt(lm.getOrDefault("maxHeaderBytes", lim.maxHeaderBytes()), "limits.maxHeaderBytes"),
                posInt(lm.getOrDefault("maxHeaderCount", lim.maxHeaderCount()), "limits.maxHeaderCount"),
                posLong(lm.getOrDefault("maxBodyBytes", lim.maxBodyBytes()), "limits.maxBodyBytes"));
        }
        DataPlaneConfig.Upstream up = DataPlaneConfig.Upstream.DEFAULT;
        if (m.containsKey("upstream")) {
            Map<String, Object> um = map(m.get("upstream"), "upstream");
            keys(um, "upstream", Set.of("maxConnectionsPerEndpoint", "maxIdlePerEndpoint", "maxPendingPerEndpoint"));
            up = new DataPlaneConfig.Upstream(
                posInt(um.getOrDefault("maxConnectionsPerEndpoint", up.maxConnectionsPerEndpoint()),
                    "upstream.maxConnectionsPerEndpoint"),
                posInt(um.getOrDefault("maxIdlePerEndpoint", up.maxIdlePerEndpoint()), "upstream.maxIdlePerEndpoint"),
                posInt(um.getOrDefault("maxPendingPerEndpoint", up.maxPendingPerEndpoint()),
                    "upstream.maxPendingPerEndpoint"));
        }
        boolean trust = m.containsKey("trustForwarded") && bool(m.get("trustForwarded"), "trustForwarded");
        String routesFile = m.containsKey("routesFile") ? str(m.get("routesFile"), "routesFile") : null;
        String coreMap = m.containsKey("coreMap") ? str(m.get("coreMap"), "coreMap") : null;
        SteeringMode steering = SteeringMode.AUTO;
        if (m.containsKey("steering")) {
            try {
                steering = SteeringMode.parse(str(m.get("steering"), "steering"));
            } catch (IllegalArgumentException e) {
                throw new ConfigException("steering: " + e.getMessage());
            }
        }
        TlsSettings tls = m.containsKey("tls") ? tls(map(m.get("tls"), "tls")) : TlsSettings.DEFAULT;
        return new DataPlaneConfig(listeners, cpus, idle, t, lim, up, trust, routeTable(m, generation), routesFile,
            coreMap, steering, tls, OpsConfigLoader.parse(m), L4ConfigSection.settings(m));
    }

    private static TlsSettings tls(Map<String, Object> m) {
        keys(m, "tls", Set.of("certificates", "protocols", "ciphers", "groups", "hsts", "sslRedirect", "httpsPort",
            "unknownSni", "ticketKeyFile", "ticketRotationSeconds", "sessionCacheSize",
            "sessionTimeoutSeconds", "handshakeTimeoutMs"));
        TlsSettings d = TlsSettings.DEFAULT;
        List<TlsCertificate> certs = new ArrayList<>();
        Map<String, byte[]> ocsp = new HashMap<>();
        List<Object> cl = list(m.getOrDefault("certificates", List.of()), "tls.certificates");
        for (int i = 0; i < cl.size(); i++) {
            String at = "tls.certificates[" + i + "]";
            Map<String, Object> c = map(cl.get(i), at);
            keys(c, at, Set.of("name", "hosts", "certFile", "keyFile", "ocspFile"));
            List<String> hosts = new ArrayList<>();
            List<Object> hl = list(c.getOrDefault("hosts", List.of()), at + ".hosts");
            for (int j = 0; j < hl.size(); j++) {
                hosts.add(str(hl.get(j), at + ".hosts[" + j + "]"));
            }
            String chain = readFile(str(c.get("certFile"), at + ".certFile"), at + ".certFile");
            String key = readFile(str(c.get("keyFile"), at + ".keyFile"), at + ".keyFile");
            String name = c.containsKey("name") ? str(c.get("name"), at + ".name") : "file/" + i;
            if (c.containsKey("ocspFile")) {
                String f = str(c.get("ocspFile"), at + ".ocspFile");
                try {
                    ocsp.put(name, Files.readAllBytes(Path.of(f)));
                } catch (IOException e) {
                    throw new ConfigException(at + ".ocspFile: cannot read " + f + ": " + e.getMessage());
                }
            }
            try {
                io.sluice.dataplane.tls.Pem.certificates(chain);
                io.sluice.dataplane.tls.Pem.privateKey(key);
                certs.add(new TlsCertificate(name, hosts, chain, key));
            } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
                throw new ConfigException(at + ": " + e.getMessage());
            }
        }
        List<String> protocols = strings(m.getOrDefault("protocols", d.protocols()), "tls.protocols");
        for (String p : protocols) {
            if (!p.equals("TLSv1.2") && !p.equals("TLSv1.3")) {
                throw new ConfigException("tls.protocols: '" + p + "' (TLSv1.2 or TLSv1.3; older ones are unsafe)");
            }
        }
        if (protocols.isEmpty()) {
            throw new ConfigException("tls.protocols: empty");
        }
        String unknownSni = str(m.getOrDefault("unknownSni", d.unknownSni()), "tls.unknownSni");
        if (!unknownSni.equals("default") && !unknownSni.equals("reject")) {
            throw new ConfigException("tls.unknownSni: '" + unknownSni + "' (default or reject)");
        }
        String hsts = str(m.getOrDefault("hsts", d.hsts()), "tls.hsts");
        if (hsts.indexOf('\r') >= 0 || hsts.indexOf('\n') >= 0) {
            throw new ConfigException("tls.hsts: contains a line break");
        }
        int httpsPort = m.containsKey("httpsPort") ? port(m.get("httpsPort"), "tls.httpsPort") : 0;
        return new TlsSettings(certs, protocols, str(m.getOrDefault("ciphers", d.ciphers()), "tls.ciphers"),
            strings(m.getOrDefault("groups", d.groups()), "tls.groups"), hsts,
            bool(m.getOrDefault("sslRedirect", d.sslRedirect()), "tls.sslRedirect"), httpsPort, unknownSni,
            m.containsKey("ticketKeyFile") ? str(m.get("ticketKeyFile"), "tls.ticketKeyFile") : null,
            posInt(m.getOrDefault("ticketRotationSeconds", d.ticketRotationSeconds()), "tls.ticketRotationSeconds"),
            nonNegInt(m.getOrDefault("sessionCacheSize", d.sessionCacheSize()), "tls.sessionCacheSize"),
            posInt(m.getOrDefault("sessionTimeoutSeconds", d.sessionTimeoutSeconds()), "tls.sessionTimeoutSeconds"),
            posInt(m.getOrDefault("handshakeTimeoutMs", d.handshakeTimeoutMs()), "tls.handshakeTimeoutMs"), ocsp);
    }

    private static List<String> strings(Object o, String at) {
        List<Object> l = list(o, at);
        List<String> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) {
            out.add(str(l.get(i), at + "[" + i + "]"));
        }
        return out;
    }

    private static int nonNegInt(Object o, String at) {
        return o instanceof Integer i && i == 0 ? 0 : posInt(o, at);
    }

    private static String readFile(String path, String at) {
        try {
            return Files.readString(Path.of(path));
        } catch (IOException e) {
            throw new ConfigException(at + ": cannot read " + path + ": " + e.getMessage());
        }
    }

    private static UpstreamTls upstreamTls(Object o, String at) {
        Map<String, Object> m = map(o, at);
        keys(m, at, Set.of("verify", "caFile", "certFile", "keyFile", "serverName"));
        try {
            return new UpstreamTls(m.containsKey("verify") && bool(m.get("verify"), at + ".verify"),
                m.containsKey("caFile") ? readFile(str(m.get("caFile"), at + ".caFile"), at + ".caFile") : "",
                m.containsKey("certFile") ? readFile(str(m.get("certFile"), at + ".certFile"), at + ".certFile") : "",
                m.containsKey("keyFile") ? readFile(str(m.get("keyFile"), at + ".keyFile"), at + ".keyFile") : "",
                m.containsKey("serverName") ? str(m.get("serverName"), at + ".serverName") : "");
        } catch (IllegalArgumentException e) {
            throw new ConfigException(at + ": " + e.getMessage());
        }
    }

    /** The route part of a config: {@code backends}, {@code routes}, {@code defaultBackend}. */
    public static RouteTable routeTable(Map<String, Object> m, long generation) {
        List<Backend> backends = new ArrayList<>();
        Map<String, Integer> index = new HashMap<>();
        List<Object> bs = list(m.getOrDefault("backends", List.of()), "backends");
        for (int i = 0; i < bs.size(); i++) {
            String at = "backends[" + i + "]";
            Map<String, Object> b = map(bs.get(i), at);
            keys(b, at, Set.of("name", "balancer", "endpoints", "protocol", "tls", "healthCheck", "limits")); // the last two: OpsConfigLoader
            String name = str(b.get("name"), at + ".name");
            Balancer bal;
            try {
                bal = Balancer.parse(str(b.getOrDefault("balancer", "round-robin"), at + ".balancer"));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(at + ".balancer: " + e.getMessage());
            }
            List<Endpoint> eps = new ArrayList<>();
            List<Object> el = list(b.getOrDefault("endpoints", List.of()), at + ".endpoints");
            for (int j = 0; j < el.size(); j++) {
                String eat = at + ".endpoints[" + j + "]";
                Object e = el.get(j);
                try {
                    if (e instanceof Map<?, ?>) {
                        Map<String, Object> em = map(e, eat);
                        keys(em, eat, Set.of("address", "weight"));
                        eps.add(Endpoint.parse(str(em.get("address"), eat + ".address"),
                            posInt(em.getOrDefault("weight", 1), eat + ".weight")));
                    } else {
                        eps.add(Endpoint.parse(str(e, eat), 1));
                    }
                } catch (IllegalArgumentException ex) {
                    throw new ConfigException(eat + ": " + ex.getMessage());
                }
            }
            if (index.putIfAbsent(name, backends.size()) != null) {
                throw new ConfigException(at + ".name: backend '" + name + "' is defined twice");
            }
            BackendProtocol proto;
            String protoName = str(b.getOrDefault("protocol", "HTTP"), at + ".protocol");
            try {
                proto = BackendProtocol.valueOf(protoName.toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(at + ".protocol: '" + protoName
                    + "' is not one of HTTP, HTTPS, H2C, H2, GRPC, GRPCS");
            }
            UpstreamTls utls = b.containsKey("tls") ? upstreamTls(b.get("tls"), at + ".tls") : null;
            if (utls != null && !proto.tls()) {
                throw new ConfigException(at + ".tls: backend protocol " + proto + " does not use TLS (HTTPS, H2, GRPCS)");
            }
            backends.add(new Backend(name, bal, eps, proto, utls));
        }
        Map<String, List<PathRule>> byHost = new java.util.LinkedHashMap<>();
        List<Object> rs = list(m.getOrDefault("routes", List.of()), "routes");
        for (int i = 0; i < rs.size(); i++) {
            String at = "routes[" + i + "]";
            Map<String, Object> r = map(rs.get(i), at);
            keys(r, at, Set.of("host", "paths"));
            String host = r.get("host") == null ? "" : str(r.get("host"), at + ".host");
            List<PathRule> rules = byHost.computeIfAbsent(host.toLowerCase(java.util.Locale.ROOT),
                k -> new ArrayList<>());
            List<Object> ps = list(r.getOrDefault("paths", List.of()), at + ".paths");
            for (int j = 0; j < ps.size(); j++) {
                String pat = at + ".paths[" + j + "]";
                Map<String, Object> p = map(ps.get(j), pat);
                keys(p, pat, Set.of("path", "type", "backend"));
                String type = str(p.getOrDefault("type", "Prefix"), pat + ".type");
                PathType pt = switch (type) {
                    case "Prefix", "ImplementationSpecific" -> PathType.PREFIX;
                    case "Exact" -> PathType.EXACT;
                    default -> throw new ConfigException(pat + ".type: '" + type + "' (expected Exact or Prefix)");
                };
                String bname = str(p.get("backend"), pat + ".backend");
                Integer bi = index.get(bname);
                if (bi == null) {
                    throw new ConfigException(pat + ".backend: unknown backend '" + bname + "'");
                }
                try {
                    rules.add(new PathRule(str(p.getOrDefault("path", "/"), pat + ".path"), pt, bi, "config " + pat));
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(pat + ".path: " + e.getMessage());
                }
            }
        }
        List<VirtualHost> hosts = new ArrayList<>();
        for (Map.Entry<String, List<PathRule>> e : byHost.entrySet()) {
            try {
                hosts.add(new VirtualHost(e.getKey(), e.getValue()));
            } catch (IllegalArgumentException ex) {
                throw new ConfigException("routes: " + ex.getMessage());
            }
        }
        int def = -1;
        if (m.get("defaultBackend") != null) {
            String d = str(m.get("defaultBackend"), "defaultBackend");
            Integer bi = index.get(d);
            if (bi == null) {
                throw new ConfigException("defaultBackend: unknown backend '" + d + "'");
            }
            def = bi;
        }
        return new RouteTable(generation, hosts, backends, def).withL4(L4ConfigSection.services(m));
    }

    public static int[] parseCpus(String spec) {
        List<Integer> out = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            try {
                int dash = p.indexOf('-');
                if (dash > 0) {
                    int a = Integer.parseInt(p.substring(0, dash).trim());
                    int b = Integer.parseInt(p.substring(dash + 1).trim());
                    for (int c = a; c <= b; c++) {
                        out.add(c);
                    }
                } else {
                    out.add(Integer.parseInt(p));
                }
            } catch (NumberFormatException e) {
                throw new ConfigException("cpus: '" + spec + "' is not a CPU list like 0,2-3");
            }
        }
        if (out.isEmpty()) {
            throw new ConfigException("cpus: empty CPU list");
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o, String at) {
        if (!(o instanceof Map<?, ?>)) {
            throw new ConfigException(at + ": expected a mapping");
        }
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o, String at) {
        if (!(o instanceof List<?>)) {
            throw new ConfigException(at + ": expected a list");
        }
        return (List<Object>) o;
    }

    static void keys(Map<String, Object> m, String at, Set<String> allowed) {
        for (String k : m.keySet()) {
            if (!allowed.contains(k)) {
                throw new ConfigException(at + ": unknown key '" + k + "' (allowed: " + new java.util.TreeSet<>(allowed)
                    + ")");
            }
        }
    }

    static String str(Object o, String at) {
        if (o instanceof String s) {
            return s;
        }
        if (o instanceof Number || o instanceof Boolean) {
            return String.valueOf(o);
        }
        throw new ConfigException(at + ": expected a string");
    }

    static boolean bool(Object o, String at) {
        if (o instanceof Boolean b) {
            return b;
        }
        throw new ConfigException(at + ": expected true or false");
    }

    static int port(Object o, String at) {
        int p = posInt(o, at);
        if (p > 65535) {
            throw new ConfigException(at + ": port out of range: " + p);
        }
        return p;
    }

    static int posInt(Object o, String at) {
        long v = posLong(o, at);
        if (v > Integer.MAX_VALUE) {
            throw new ConfigException(at + ": too large: " + v);
        }
        return (int) v;
    }

    static long posLong(Object o, String at) {
        if (o instanceof Number n && !(o instanceof Double) && !(o instanceof Float) && n.longValue() > 0) {
            return n.longValue();
        }
        throw new ConfigException(at + ": expected a positive whole number, got " + o);
    }
}
