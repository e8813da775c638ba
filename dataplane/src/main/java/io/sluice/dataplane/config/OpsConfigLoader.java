package io.sluice.dataplane.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import static io.sluice.dataplane.config.ConfigLoader.bool;
import static io.sluice.dataplane.config.ConfigLoader.keys;
import static io.sluice.dataplane.config.ConfigLoader.list;
import static io.sluice.dataplane.config.ConfigLoader.map;
import static io.sluice.dataplane.config.ConfigLoader.port;
import static io.sluice.dataplane.config.ConfigLoader.posInt;
import static io.sluice.dataplane.config.ConfigLoader.str;

/** The {@link OpsConfig} part of the data plane's YAML, as strict as {@link ConfigLoader}. */
final class OpsConfigLoader {
    private OpsConfigLoader() {
    }

    static OpsConfig parse(Map<String, Object> m) {
        OpsConfig.Admin admin = OpsConfig.Admin.DEFAULT;
        if (m.containsKey("admin")) {
            Map<String, Object> a = map(m.get("admin"), "admin");
            keys(a, "admin", Set.of("enabled", "address", "port"));
            boolean enabled = !a.containsKey("enabled") || bool(a.get("enabled"), "admin.enabled");
            admin = new OpsConfig.Admin(enabled, str(a.getOrDefault("address", admin.address()), "admin.address"),
                port(a.getOrDefault("port", admin.port()), "admin.port"));
        }
        OpsConfig.Shutdown shutdown = OpsConfig.Shutdown.DEFAULT;
        if (m.containsKey("shutdown")) {
            Map<String, Object> s = map(m.get("shutdown"), "shutdown");
            keys(s, "shutdown", Set.of("drainSeconds"));
            shutdown = new OpsConfig.Shutdown(nonNegInt(s.getOrDefault("drainSeconds", shutdown.drainSeconds()),
                "shutdown.drainSeconds"));
        }
        OpsConfig.AccessLog log = OpsConfig.AccessLog.OFF;
        if (m.containsKey("accessLog")) {
            Map<String, Object> l = map(m.get("accessLog"), "accessLog");
            keys(l, "accessLog", Set.of("path", "format", "sample"));
            Object pv = l.getOrDefault("path", "off");
            String path = Boolean.FALSE.equals(pv) ? "off" : str(pv, "accessLog.path"); // YAML 1.1 reads off as false
            String f = str(l.getOrDefault("format", "json"), "accessLog.format").toLowerCase(Locale.ROOT);
            OpsConfig.LogFormat format = switch (f) {
                case "json" -> OpsConfig.LogFormat.JSON;
                case "combined" -> OpsConfig.LogFormat.COMBINED;
                default -> throw new ConfigLoader.ConfigException("accessLog.format: '" + f
                    + "' (expected json or combined)");
            };
            double sample = fraction(l.getOrDefault("sample", 1.0), "accessLog.sample");
            log = new OpsConfig.AccessLog(path.equals("off") || path.isEmpty() ? null : path, format, sample);
        }
        OpsConfig.Health health = m.containsKey("health")
            ? health(m.get("health"), "health", OpsConfig.Health.DEFAULT) : OpsConfig.Health.DEFAULT;
        OpsConfig.Outlier outlier = OpsConfig.Outlier.DEFAULT;
        if (m.containsKey("outlier")) {
            Map<String, Object> o = map(m.get("outlier"), "outlier");
            keys(o, "outlier", Set.of("enabled", "consecutive5xx", "consecutiveConnectFailures", "baseEjectionMs",
                "maxEjectionMs", "maxEjectionPercent"));
            OpsConfig.Outlier d = outlier;
            int pct = posInt(o.getOrDefault("maxEjectionPercent", d.maxEjectionPercent()), "outlier.maxEjectionPercent");
            if (pct > 100) {
                throw new ConfigLoader.ConfigException("outlier.maxEjectionPercent: at most 100, got " + pct);
            }
            outlier = new OpsConfig.Outlier(
                !o.containsKey("enabled") || bool(o.get("enabled"), "outlier.enabled"),
                posInt(o.getOrDefault("consecutive5xx", d.consecutive5xx()), "outlier.consecutive5xx"),
                posInt(o.getOrDefault("consecutiveConnectFailures", d.consecutiveConnectFailures()),
                    "outlier.consecutiveConnectFailures"),
                posInt(o.getOrDefault("baseEjectionMs", d.baseEjectionMs()), "outlier.baseEjectionMs"),
                posInt(o.getOrDefault("maxEjectionMs", d.maxEjectionMs()), "outlier.maxEjectionMs"),
                pct);
        }
        OpsConfig.Retry retry = OpsConfig.Retry.DEFAULT;
        if (m.containsKey("retry")) {
            Map<String, Object> r = map(m.get("retry"), "retry");
            keys(r, "retry", Set.of("budgetPercent", "minRetriesPerSecond"));
            int pct = nonNegInt(r.getOrDefault("budgetPercent", retry.budgetPercent()), "retry.budgetPercent");
            if (pct > 100) {
                throw new ConfigLoader.ConfigException("retry.budgetPercent: at most 100, got " + pct);
            }
            retry = new OpsConfig.Retry(pct, nonNegInt(r.getOrDefault("minRetriesPerSecond",
                retry.minRetriesPerSecond()), "retry.minRetriesPerSecond"));
        }
        Map<String, OpsConfig.BackendPolicy> policies = new LinkedHashMap<>();
        List<Object> bs = list(m.getOrDefault("backends", List.of()), "backends");
        for (int i = 0; i < bs.size(); i++) {
            String at = "backends[" + i + "]";
            Map<String, Object> b = map(bs.get(i), at);
            if (b.containsKey("healthCheck") || b.containsKey("limits")) {
                policies.put(str(b.get("name"), at + ".name"), policy(b, at, health));
            }
        }
        if (m.containsKey("backendPolicies")) {
            Map<String, Object> bp = map(m.get("backendPolicies"), "backendPolicies");
            for (Map.Entry<String, Object> e : bp.entrySet()) {
                String at = "backendPolicies." + e.getKey();
                Map<String, Object> b = map(e.getValue(), at);
                keys(b, at, Set.of("healthCheck", "limits"));
                if (policies.put(e.getKey(), policy(b, at, health)) != null) {
                    throw new ConfigLoader.ConfigException(at + ": backend '" + e.getKey()
                        + "' already has a healthCheck or limits in backends");
                }
            }
        }
        return new OpsConfig(admin, shutdown, log, health, outlier, retry, policies);
    }

    private static OpsConfig.BackendPolicy policy(Map<String, Object> b, String at, OpsConfig.Health nodeHealth) {
        OpsConfig.Health h = b.containsKey("healthCheck")
            ? health(b.get("healthCheck"), at + ".healthCheck", nodeHealth) : nodeHealth;
        OpsConfig.Limits lim = OpsConfig.Limits.NONE;
        if (b.containsKey("limits")) {
            Map<String, Object> l = map(b.get("limits"), at + ".limits");
            keys(l, at + ".limits", Set.of("maxConnections", "maxPending", "maxRequests"));
            lim = new OpsConfig.Limits(
                nonNegInt(l.getOrDefault("maxConnections", 0), at + ".limits.maxConnections"),
                nonNegInt(l.getOrDefault("maxPending", 0), at + ".limits.maxPending"),
                nonNegInt(l.getOrDefault("maxRequests", 0), at + ".limits.maxRequests"));
        }
        return new OpsConfig.BackendPolicy(h, lim);
    }

    /** A health check block; keys not given come from {@code base}. */
    static OpsConfig.Health health(Object o, String at, OpsConfig.Health base) {
        Map<String, Object> h = map(o, at);
        keys(h, at, Set.of("type", "path", "expectedStatus", "intervalMs", "jitterMs", "timeoutMs",
            "healthyThreshold", "unhealthyThreshold"));
        OpsConfig.CheckType type = base.type();
        if (h.containsKey("type")) {
            String t = str(h.get("type"), at + ".type").toLowerCase(Locale.ROOT);
            type = switch (t) {
                case "none" -> OpsConfig.CheckType.NONE;
                case "tcp" -> OpsConfig.CheckType.TCP;
                case "http" -> OpsConfig.CheckType.HTTP;
                case "grpc" -> OpsConfig.CheckType.GRPC;
                default -> throw new ConfigLoader.ConfigException(at + ".type: '" + t
                    + "' (expected none, tcp, http or grpc)");
            };
        }
        String path = str(h.getOrDefault("path", base.path()), at + ".path");
        if (!path.startsWith("/")) {
            throw new ConfigLoader.ConfigException(at + ".path: must start with '/': '" + path + "'");
        }
        int[] range = {base.expectedMin(), base.expectedMax()};
        if (h.containsKey("expectedStatus")) {
            range = statusRange(str(h.get("expectedStatus"), at + ".expectedStatus"), at + ".expectedStatus");
        }
        int interval = posInt(h.getOrDefault("intervalMs", base.intervalMs()), at + ".intervalMs");
        int jitter = nonNegInt(h.getOrDefault("jitterMs", base.jitterMs()), at + ".jitterMs");
        int timeout = posInt(h.getOrDefault("timeoutMs", base.timeoutMs()), at + ".timeoutMs");
        return new OpsConfig.Health(type, path, range[0], range[1], interval, jitter, timeout,
            posInt(h.getOrDefault("healthyThreshold", base.healthyThreshold()), at + ".healthyThreshold"),
            posInt(h.getOrDefault("unhealthyThreshold", base.unhealthyThreshold()), at + ".unhealthyThreshold"));
    }

    /** {@code "200"} or {@code "200-399"}. */
    static int[] statusRange(String s, String at) {
        try {
            int dash = s.indexOf('-');
            int lo = Integer.parseInt((dash < 0 ? s : s.substring(0, dash)).trim());
            int hi = dash < 0 ? lo : Integer.parseInt(s.substring(dash + 1).trim());
            if (lo < 100 || hi > 599 || lo > hi) {
                throw new NumberFormatException();
            }
            return new int[] {lo, hi};
        } catch (NumberFormatException e) {
            throw new ConfigLoader.ConfigException(at + ": '" + s + "' is not a status or range like 200-399");
        }
    }

    private static int nonNegInt(Object o, String at) {
        if (o instanceof Integer i && i == 0) {
            return 0;
        }
        return posInt(o, at);
    }

    private static double fraction(Object o, String at) {
        if (o instanceof Number n) {
            double d = n.doubleValue();
            if (d >= 0 && d <= 1) {
                return d;
            }
        }
        throw new ConfigLoader.ConfigException(at + ": expected a number from 0 to 1, got " + o);
    }
}
