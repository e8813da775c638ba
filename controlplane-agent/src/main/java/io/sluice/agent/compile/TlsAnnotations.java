package io.sluice.agent.compile;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.sluice.routetable.TlsOptions;
import io.sluice.routetable.UpstreamTls;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The TLS annotations of an Ingress. Each is read under Sluice's name ({@code sluice.io/...}) and, where ingress-nginx
 * has the same setting, under its name too ({@code nginx.ingress.kubernetes.io/...}; ours wins when both are set), so
 * Ingresses written for ingress-nginx keep their meaning. A bad value is reported against the Ingress and the setting
 * falls back to the node's default; the rest of the Ingress is served.
 *
 * <table>
 * <tr><th>annotation (suffix)</th><th>values</th><th>meaning</th></tr>
 * <tr><td>ssl-redirect</td><td>true, false</td><td>308 from http to https for the Ingress's TLS hosts</td></tr>
 * <tr><td>hsts</td><td>a header value, or false</td><td>Strict-Transport-Security of its HTTPS responses (ours only)</td></tr>
 * <tr><td>ssl-protocols</td><td>TLSv1.2 TLSv1.3</td><td>enabled versions (ours only)</td></tr>
 * <tr><td>ssl-ciphers</td><td>OpenSSL list</td><td>TLS 1.2 cipher suites</td></tr>
 * <tr><td>auth-tls-secret</td><td>namespace/name</td><td>CA bundle ({@code ca.crt} of a kubernetes.io/tls Secret)</td></tr>
 * <tr><td>auth-tls-verify-client</td><td>on, optional, off</td><td>client certificate requirement</td></tr>
 * <tr><td>ssl-passthrough</td><td>true</td><td>do not terminate: forward by SNI to the backend of the host's /</td></tr>
 * <tr><td>proxy-ssl-secret</td><td>namespace/name</td><td>{@code ca.crt} to verify HTTPS backends, {@code tls.crt}/
 * {@code tls.key} as client certificate</td></tr>
 * <tr><td>proxy-ssl-verify</td><td>on, off</td><td>verify the backend's certificate (default off, as nginx)</td></tr>
 * <tr><td>proxy-ssl-name</td><td>DNS name</td><td>server name sent to and verified on the backend</td></tr>
 * </table>
 */
public final class TlsAnnotations {
    public static final String SLUICE = "sluice.io/";
    public static final String NGINX = "nginx.ingress.kubernetes.io/";

    private TlsAnnotations() {
    }

    static TlsOptions options(Ingress ing, ObjectRef ref, ClusterView view, List<Problem> problems) {
        Map<String, String> ann = ing.getMetadata().getAnnotations();
        if (ann == null || ann.isEmpty()) {
            return TlsOptions.INHERIT;
        }
        List<String> protocols = new ArrayList<>();
        String p = get(ann, "ssl-protocols", false);
        if (p != null) {
            for (String v : p.trim().split("[\\s,]+")) {
                if (v.equals("TLSv1.2") || v.equals("TLSv1.3")) {
                    protocols.add(v);
                } else if (!v.isEmpty()) {
                    problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "annotation " + SLUICE + "ssl-protocols: '"
                        + v + "' is not TLSv1.2 or TLSv1.3; ignored"));
                }
            }
        }
        String ciphers = get(ann, "ssl-ciphers", true);
        if (ciphers != null && !ciphers.matches("[A-Za-z0-9_:+!@=.\\- ]*")) {
            problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "annotation ssl-ciphers: not an OpenSSL cipher list;"
                + " ignored"));
            ciphers = null;
        }
        String hsts = get(ann, "hsts", false);
        if (hsts != null) {
            if (hsts.equalsIgnoreCase("false")) {
                hsts = "";
            } else if (hsts.indexOf('\r') >= 0 || hsts.indexOf('\n') >= 0 || !hsts.startsWith("max-age=")) {
                problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "annotation " + SLUICE + "hsts: '" + hsts
                    + "' is not a Strict-Transport-Security value (max-age=...); ignored"));
                hsts = null;
            }
        }
        Boolean redirect = bool(ann, "ssl-redirect", ref, problems);
        TlsOptions.ClientAuth auth = TlsOptions.ClientAuth.OFF;
        String ca = "";
        String verify = get(ann, "auth-tls-verify-client", true);
        String caSecret = get(ann, "auth-tls-secret", true);
        if (caSecret != null) {
            String[] pem = secretFields(caSecret, ref, view, problems, "auth-tls-secret");
            if (pem != null && pem[0] != null) {
                ca = pem[0];
                auth = TlsOptions.ClientAuth.ON;
                if (verify != null) {
                    switch (verify.toLowerCase(Locale.ROOT)) {
                        case "on" -> auth = TlsOptions.ClientAuth.ON;
                        case "optional", "optional_no_ca" -> auth = TlsOptions.ClientAuth.OPTIONAL;
                        case "off" -> {
                            auth = TlsOptions.ClientAuth.OFF;
                            ca = "";
                        }
                        default -> problems.add(new Problem(ref, Reasons.INVALID_OBJECT,
                            "annotation auth-tls-verify-client: '" + verify + "' (on, optional, off); using on"));
                    }
                }
            } else if (pem != null) {
                problems.add(new Problem(ref, Reasons.INVALID_SECRET, "annotation auth-tls-secret: Secret " + caSecret
                    + " has no ca.crt; client certificates are not checked"));
            }
        }
        boolean passthrough = Boolean.TRUE.equals(bool(ann, "ssl-passthrough", ref, problems));
        return new TlsOptions(protocols, ciphers == null ? "" : ciphers, hsts, redirect, auth, ca, passthrough);
    }

    static UpstreamTls upstreamTls(Ingress ing, ObjectRef ref, ClusterView view, List<Problem> problems) {
        Map<String, String> ann = ing.getMetadata().getAnnotations();
        if (ann == null) {
            return null;
        }
        String secret = get(ann, "proxy-ssl-secret", true);
        String verify = get(ann, "proxy-ssl-verify", true);
        String name = get(ann, "proxy-ssl-name", true);
        if (secret == null && verify == null && name == null) {
            return null;
        }
        String[] pem = secret == null ? null : secretFields(secret, ref, view, problems, "proxy-ssl-secret");
        String ca = pem == null || pem[0] == null ? "" : pem[0];
        boolean on = verify != null && verify.equalsIgnoreCase("on");
        if (on && ca.isEmpty()) {
            problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "annotation proxy-ssl-verify: on needs a CA"
                + " (ca.crt of proxy-ssl-secret); backends are not verified"));
            on = false;
        }
        String chain = pem == null || pem[1] == null || pem[2] == null ? "" : pem[1];
        String key = chain.isEmpty() ? "" : pem[2];
        return new UpstreamTls(on, ca, chain, key, name == null ? "" : name.trim());
    }

    /** ca.crt, tls.crt, tls.key of {@code ns/name} (nulls for absent fields), or null (reported) when missing. */
    private static String[] secretFields(String nsName, ObjectRef ref, ClusterView view, List<Problem> problems,
                                         String annotation) {
        String[] parts = nsName.trim().split("/", 2);
        String ns = parts.length == 2 ? parts[0] : ref.namespace();
        String name = parts.length == 2 ? parts[1] : parts[0];
        Secret s = view.secret(ns, name);
        if (s == null) {
            problems.add(new Problem(ref, Reasons.MISSING_SECRET, "annotation " + annotation + ": Secret " + ns + "/"
                + name + " does not exist (or is not of type kubernetes.io/tls)"));
            return null;
        }
        return new String[] {field(s, "ca.crt"), field(s, "tls.crt"), field(s, "tls.key")};
    }

    private static String field(Secret s, String name) {
        String v = IngressCompiler.field(s, name);
        return v == null || v.startsWith("!") ? null : v;
    }

    private static Boolean bool(Map<String, String> ann, String suffix, ObjectRef ref, List<Problem> problems) {
        String v = get(ann, suffix, true);
        if (v == null) {
            return null;
        }
        if (v.equalsIgnoreCase("true")) {
            return Boolean.TRUE;
        }
        if (v.equalsIgnoreCase("false")) {
            return Boolean.FALSE;
        }
        problems.add(new Problem(ref, Reasons.INVALID_OBJECT, "annotation " + suffix + ": '" + v
            + "' is not true or false; ignored"));
        return null;
    }

    /** Ours first, then ingress-nginx's when {@code nginxToo}. */
    private static String get(Map<String, String> ann, String suffix, boolean nginxToo) {
        String v = ann.get(SLUICE + suffix);
        if (v == null && nginxToo) {
            v = ann.get(NGINX + suffix);
        }
        return v;
    }
}
