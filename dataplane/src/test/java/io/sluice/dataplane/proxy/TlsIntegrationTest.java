package io.sluice.dataplane.proxy;

import io.sluice.dataplane.proxy.TestSupport.Origin;
import io.sluice.dataplane.proxy.TestSupport.Running;
import io.sluice.dataplane.tls.Pem;
import io.sluice.routetable.Backend;
import io.sluice.routetable.BackendProtocol;
import io.sluice.routetable.Balancer;
import io.sluice.routetable.Endpoint;
import io.sluice.routetable.PathRule;
import io.sluice.routetable.PathType;
import io.sluice.routetable.RouteTable;
import io.sluice.routetable.TlsCertificate;
import io.sluice.routetable.TlsOptions;
import io.sluice.routetable.UpstreamTls;
import io.sluice.routetable.VirtualHost;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS termination with the clients users have: openssl s_client (SNI, signature algorithms, protocol versions,
 * resumption, client certificates) and curl, against a data plane with a TLS and a cleartext listener. Certificates are
 * made by the openssl CLI, as users make them. Route-table certificates (Secrets) are swapped in while connections are
 * open.
 */
@Timeout(180)
class TlsIntegrationTest {
    @TempDir
    static Path dir;
    private static Origin origin;
    private static Running proxy;
    private static int tlsPort;
    private static int plainPort;

    @BeforeAll
    static void start() throws Exception {
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key");
        openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=Sluice Test CA", "-days", "30", "-out",
            "ca.crt");
        leaf("ec", "ec", "secure.test", "DNS:secure.test,DNS:*.wild.test", 30);
        leaf("rsa", "rsa", "secure.test", "DNS:secure.test", 30);
        leaf("client", "ec", "alice", "DNS:alice.client", 30);
        leaf("other", "ec", "secure.test", "DNS:secure.test", 30);
        leaf("expired", "ec", "old.test", "DNS:old.test", -1);
        leaf("mtls", "ec", "mtls.test", "DNS:mtls.test", 30);
        leaf("backend", "ec", "backend.internal", "DNS:backend.internal", 30);
        // An OCSP response for the ec certificate, as a responder would give it (made offline by openssl ocsp).
        String serial = runIn(dir, "openssl", "x509", "-in", "ec.crt", "-noout", "-serial").out.trim().substring(7);
        Files.writeString(dir.resolve("index.txt"), "V\t301231000000Z\t\t" + serial + "\tunknown\t/CN=secure.test\n");
        openssl("ocsp", "-issuer", "ca.crt", "-cert", "ec.crt", "-reqout", "ocsp-req.der", "-no_nonce");
        openssl("ocsp", "-index", "index.txt", "-rsigner", "ca.crt", "-rkey", "ca.key", "-CA", "ca.crt", "-reqin",
            "ocsp-req.der", "-respout", "ec.ocsp", "-ndays", "7");

        origin = new Origin(TestSupport.ok("o1"));
        tlsPort = TestSupport.freePort();
        plainPort = TestSupport.freePort();
        String yaml = """
            listeners:
              - {port: %d}
              - {port: %d, tls: true}
            timeouts: {connectMs: 1000, readMs: 3000, idleMs: 10000}
            tls:
              certificates:
                - {name: ec, hosts: ["secure.test", "*.wild.test"], certFile: "%s", keyFile: "%s", ocspFile: "%s"}
                - {name: rsa, hosts: ["secure.test"], certFile: "%s", keyFile: "%s"}
            backends:
              - name: app
                endpoints: ["127.0.0.1:%d"]
            routes:
              - host: secure.test
                paths: [{path: /, backend: app}]
              - host: "*.wild.test"
                paths: [{path: /, backend: app}]
              - host: plain.test
                paths: [{path: /, backend: app}]
            """.formatted(plainPort, tlsPort, dir.resolve("ec.crt"), dir.resolve("ec.key"), dir.resolve("ec.ocsp"),
            dir.resolve("rsa.crt"),
            dir.resolve("rsa.key"), origin.port());
        proxy = new Running(io.sluice.dataplane.proxy.DataPlane.start(
            io.sluice.dataplane.config.ConfigLoader.parse(yaml, 0).withCpus(new int[] {0, 1 % Runtime.getRuntime()
                .availableProcessors()})), plainPort);
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (origin != null) {
            origin.close();
        }
        TestSupport.assertNoLeaks();
    }

    // ------------------------------------------------------------------------------------------- certificates

    @Test
    void sniPicksCertificateAndKeyTypeFollowsTheClient() throws Exception {
        String ec = sClient("-servername", "secure.test", "-sigalgs", "ECDSA+SHA256");
        assertTrue(ec.contains("Peer signature type: ECDSA"), ec);
        assertTrue(ec.contains("subject=CN = secure.test"), ec);
        String rsa = sClient("-servername", "secure.test", "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256");
        assertTrue(rsa.contains("Peer signature type: RSA-PSS") || rsa.contains("Peer signature type: RSA"), rsa);
        assertTrue(rsa.contains("Server public key is 2048 bit"), rsa);
        String wild = sClient("-servername", "a.wild.test");
        assertTrue(wild.contains("subject=CN = secure.test"), wild);
        String twoLabels = sClient("-servername", "a.b.wild.test"); // a wildcard covers exactly one label
        assertTrue(twoLabels.contains("CN = Sluice Default Certificate"), twoLabels);
        String unknown = sClient("-servername", "nobody.example");
        assertTrue(unknown.contains("CN = Sluice Default Certificate"), unknown);
        String noSni = sClient("-noservername");
        assertTrue(noSni.contains("CN = Sluice Default Certificate"), noSni);
    }

    @Test
    void ocspResponseIsStapled() throws Exception {
        String out = sClient("-servername", "a.wild.test", "-status"); // a single-certificate host: see README on OCSP
        assertTrue(out.contains("OCSP Response Status: successful"), out);
        assertTrue(out.contains("Cert Status: good"), out);
        String none = sClient("-servername", "nobody.example", "-status");
        assertTrue(none.contains("OCSP response: no response sent"), none);
    }

    @Test
    void protocolsAreTls12And13Only() throws Exception {
        assertTrue(sClient("-servername", "secure.test", "-tls1_3").contains("TLSv1.3"));
        assertTrue(sClient("-servername", "secure.test", "-tls1_2").contains("TLSv1.2"));
        String old = sClient("-servername", "secure.test", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
        assertFalse(old.contains("Cipher is ECDHE"), old);
        assertTrue(old.contains("Cipher is (NONE)") || old.contains("alert") || old.contains("no protocols"), old);
    }

    @Test
    void curlOverTlsReachesTheOriginAsHttpsWithHsts() throws Exception {
        Run r = run("curl", "-sS", "--http1.1", "-D", "-", "--cacert", dir.resolve("ca.crt").toString(), "--resolve",
            "secure.test:" + tlsPort + ":127.0.0.1", "https://secure.test:" + tlsPort + "/hello?x=1");
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.startsWith("HTTP/1.1 200"), r.out);
        assertTrue(r.out.contains("Strict-Transport-Security: max-age=31536000; includeSubDomains"), r.out);
        // curl's default over TLS: ALPN h2 (issue 5), with the same policy
        Run h2 = run("curl", "-sS", "-D", "-", "--cacert", dir.resolve("ca.crt").toString(), "--resolve",
            "secure.test:" + tlsPort + ":127.0.0.1", "https://secure.test:" + tlsPort + "/hello2");
        assertTrue(h2.out.startsWith("HTTP/2 200"), h2.out);
        assertTrue(h2.out.contains("strict-transport-security: max-age=31536000; includeSubDomains"), h2.out);
        TestSupport.Seen seen = lastSeen("/hello?x=1");
        assertEquals("https", seen.header("x-forwarded-proto"));
        assertEquals(Integer.toString(tlsPort), seen.header("x-forwarded-port"));
    }

    @Test
    void plainHttpForATlsHostIsRedirectedWith308() throws Exception {
        Run r = run("curl", "-sS", "-D", "-", "-o", "/dev/null", "-H", "Host: secure.test",
            "http://127.0.0.1:" + plainPort + "/a/b?c=d");
        assertTrue(r.out.startsWith("HTTP/1.1 308"), r.out);
        assertTrue(r.out.contains("Location: https://secure.test:" + tlsPort + "/a/b?c=d"), r.out);
        // a host without a certificate is served in cleartext, without HSTS
        Run p = run("curl", "-sS", "-D", "-", "-o", "/dev/null", "-H", "Host: plain.test",
            "http://127.0.0.1:" + plainPort + "/");
        assertTrue(p.out.startsWith("HTTP/1.1 200"), p.out);
        assertFalse(p.out.contains("Strict-Transport-Security"), p.out);
    }

    @Test
    void sessionsResumeAcrossShardsWithTicketsAndTheCache() throws Exception {
        for (String version : List.of("-tls1_3", "-tls1_2")) {
            Path sess = dir.resolve("sess" + version);
            String first = sClientRequest(version, "-sess_out", sess.toString());
            assertTrue(first.contains("New, TLSv1."), first);
            int reused = 0;
            for (int i = 0; i < 6; i++) { // two shards: connections land on both
                String again = sClientRequest(version, "-sess_in", sess.toString());
                if (again.contains("Reused, TLSv1.")) {
                    reused++;
                }
            }
            assertEquals(6, reused, "every reconnection resumes (" + version + ")");
        }
        assertTrue(proxy.dp().sum(s -> s.stats.tlsResumed) >= 12);
    }

    @Test
    void ticketKeysRotateAndThePreviousKeyStillDecrypts() throws Exception {
        Path sess = dir.resolve("sess-rot");
        sClientRequest("-tls1_3", "-sess_out", sess.toString());
        List<String> before = proxy.dp().ticketKeys().keyNames();
        proxy.dp().ticketKeys().rotate();
        List<String> after = proxy.dp().ticketKeys().keyNames();
        assertEquals(before.get(0), after.get(1), "the old key moves to second place");
        assertFalse(after.get(0).equals(before.get(0)));
        assertTrue(sClientRequest("-tls1_3", "-sess_in", sess.toString()).contains("Reused"));
    }

    @Test
    void malformedClientHelloAndPlainHttpOnTheTlsPortAreClosedAndNothingElseIsAffected() throws Exception {
        long failures = proxy.dp().sum(s -> s.stats.tlsHandshakeFailures);
        // A TLS record header announcing a handshake, then garbage.
        byte[] bad = {0x16, 0x03, 0x01, 0x00, 0x20, 0x01, 0x00, 0x00, 0x1c, (byte) 0xff, (byte) 0xff, 1, 2, 3, 4, 5, 6,
            7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27};
        assertTrue(closedAfter(bad), "malformed ClientHello");
        assertTrue(closedAfter("GET / HTTP/1.1\r\nHost: secure.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII)),
            "plain HTTP on the TLS port");
        TestSupport.awaitTrue(() -> proxy.dp().sum(s -> s.stats.tlsHandshakeFailures) > failures, 2000);
        assertTrue(proxy.dp().sum(s -> s.stats.tlsHandshakeFailures) > failures);
        assertTrue(sClientRequest("-tls1_3").contains("HTTP/1.1 200"));
    }

    // --------------------------------------------------------------------------- route-table certificates

    @Test
    void routeTableCertificatesSwapLiveClientAuthAndBadSecretsAreContained() throws Exception {
        // A long-lived TLS connection, opened before the swap, must keep working after it.
        try (SSLSocket held = trustAllSocket("secure.test")) {
            assertTrue(exchange(held, "secure.test").startsWith("HTTP/1.1 200"));

            String ca = Files.readString(dir.resolve("ca.crt"));
            List<TlsCertificate> certs = new ArrayList<>();
            certs.add(new TlsCertificate("shop/other", List.of("secure.test"), Files.readString(dir.resolve("other.crt")),
                Files.readString(dir.resolve("other.key"))));
            certs.add(new TlsCertificate("shop/expired", List.of("old.test"), Files.readString(dir.resolve("expired.crt")),
                Files.readString(dir.resolve("expired.key"))));
            certs.add(new TlsCertificate("shop/mismatch", List.of("mismatch.test"),
                Files.readString(dir.resolve("ec.crt")), Files.readString(dir.resolve("client.key"))));
            certs.add(new TlsCertificate("shop/mtls", List.of("mtls.test"), Files.readString(dir.resolve("mtls.crt")),
                Files.readString(dir.resolve("mtls.key")), new TlsOptions(List.of("TLSv1.3"), "", "max-age=60", false,
                TlsOptions.ClientAuth.ON, ca, false)));
            long gen = proxy.dp().current().generation() + 1;
            proxy.dp().update(table(gen, certs, origin.port()));
            TestSupport.awaitTrue(() -> allInstalled(gen), 3000);

            // the old connection goes on, on its old certificate
            assertTrue(exchange(held, "secure.test").startsWith("HTTP/1.1 200"));
            // new connections get the table's certificate (it wins over the file's for the same host)
            String now = sClient("-servername", "secure.test", "-showcerts");
            assertTrue(now.contains("CN = Sluice Test CA"), now);
            assertTrue(fingerprint(now).equals(fingerprintOf("other.crt")), now);
            // an expired and a mismatched certificate: reported by name, their hosts get the default certificate
            List<String> problems = proxy.dp().current().tls.problems();
            assertTrue(problems.stream().anyMatch(p -> p.contains("shop/expired") && p.contains("expired on")), problems.toString());
            assertTrue(problems.stream().anyMatch(p -> p.contains("shop/mismatch") && p.contains("does not match")),
                problems.toString());
            assertFalse(problems.toString().contains("PRIVATE KEY"), "no key material in problems");
            assertTrue(sClient("-servername", "old.test").contains("CN = Sluice Default Certificate"));

            // client certificates: required for mtls.test
            String without = sClientRequestTo("mtls.test");
            assertFalse(without.contains("HTTP/1.1 200"), without);
            String with = sClientRequestTo("mtls.test", "-cert", dir.resolve("client.crt").toString(), "-key",
                dir.resolve("client.key").toString());
            assertTrue(with.contains("HTTP/1.1 200"), with);
            TestSupport.Seen seen = lastSeen("/mtls");
            assertEquals("SUCCESS", seen.header("ssl-client-verify"));
            assertEquals("CN=alice", seen.header("ssl-client-subject-dn"));
            assertTrue(with.contains("Strict-Transport-Security: max-age=60"), with);
            // the same over HTTP/2 (ALPN h2, curl): the subject reaches the origin, a forged header does not
            Run h2 = run("curl", "-sS", "--http2", "-k", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                "--cert", dir.resolve("client.crt").toString(), "--key", dir.resolve("client.key").toString(),
                "-H", "ssl-client-verify: FORGED", "--resolve", "mtls.test:" + tlsPort + ":127.0.0.1",
                "https://mtls.test:" + tlsPort + "/mtls-h2");
            assertEquals("2 200", h2.out, h2.err);
            TestSupport.Seen seenH2 = lastSeen("/mtls-h2");
            assertEquals("SUCCESS", seenH2.header("ssl-client-verify"));
            assertEquals("CN=alice", seenH2.header("ssl-client-subject-dn"));
            // mtls.test's options: no redirect on cleartext
            Run plain = run("curl", "-sS", "-D", "-", "-o", "/dev/null", "-H", "Host: mtls.test",
                "http://127.0.0.1:" + plainPort + "/");
            assertTrue(plain.out.startsWith("HTTP/1.1 200"), plain.out);
        } finally {
            restoreConfigTable();
        }
    }

    @Test
    void upstreamTlsVerifiesTheBackendAndPassthroughForwardsTheHandshake() throws Exception {
        String ca = Files.readString(dir.resolve("ca.crt"));
        try (Origin tlsOrigin = new Origin(TestSupport.ok("tls-origin"),
            serverContext("backend").getServerSocketFactory().createServerSocket())) {
            List<TlsCertificate> certs = List.of(new TlsCertificate("shop/pass", List.of("pass.test"), "", "",
                new TlsOptions(List.of(), "", null, null, TlsOptions.ClientAuth.OFF, "", true)));
            List<Backend> backends = List.of(
                new Backend("app", Balancer.ROUND_ROBIN, List.of(new Endpoint("127.0.0.1", origin.port()))),
                new Backend("secure-backend", Balancer.ROUND_ROBIN, List.of(new Endpoint("127.0.0.1", tlsOrigin.port())),
                    BackendProtocol.HTTPS, new UpstreamTls(true, ca, "", "", "backend.internal")),
                new Backend("wrong-name", Balancer.ROUND_ROBIN, List.of(new Endpoint("127.0.0.1", tlsOrigin.port())),
                    BackendProtocol.HTTPS, new UpstreamTls(true, ca, "", "", "someone.else")),
                new Backend("pass", Balancer.ROUND_ROBIN, List.of(new Endpoint("127.0.0.1", tlsOrigin.port()))));
            List<VirtualHost> hosts = List.of(
                new VirtualHost("up.test", List.of(new PathRule("/", PathType.PREFIX, 1, "t"))),
                new VirtualHost("wrong.test", List.of(new PathRule("/", PathType.PREFIX, 2, "t"))),
                new VirtualHost("pass.test", List.of(new PathRule("/", PathType.PREFIX, 3, "t"))));
            long gen = proxy.dp().current().generation() + 1;
            proxy.dp().update(new RouteTable(gen, hosts, backends, -1, certs));
            TestSupport.awaitTrue(() -> allInstalled(gen), 3000);

            Run up = run("curl", "-sS", "-H", "Host: up.test", "http://127.0.0.1:" + plainPort + "/via-tls");
            assertTrue(up.out.contains("origin=tls-origin GET /via-tls"), up.out + up.err);
            Run wrong = run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: wrong.test",
                "http://127.0.0.1:" + plainPort + "/");
            assertEquals("502", wrong.out, "a backend certificate for another name is refused");

            // passthrough: the client handshakes with the backend itself (its certificate, its CA)
            Run pass = run("curl", "-sS", "--cacert", dir.resolve("ca.crt").toString(), "--resolve",
                "pass.test:" + tlsPort + ":127.0.0.1", "-k", "https://pass.test:" + tlsPort + "/through");
            assertTrue(pass.out.contains("origin=tls-origin GET /through"), pass.out + pass.err);
            String cert = sClient("-servername", "pass.test");
            assertTrue(cert.contains("subject=CN = backend.internal"), cert);
            assertTrue(proxy.dp().sum(s -> s.stats.tlsPassthrough) >= 2);
        } finally {
            restoreConfigTable();
        }
    }

    /** Puts the config's own routes back (tests that swap tables run in any order). */
    private static void restoreConfigTable() throws InterruptedException {
        long gen = proxy.dp().current().generation() + 1;
        proxy.dp().update(proxy.dp().config().routes().withGeneration(gen));
        TestSupport.awaitTrue(() -> allInstalled(gen), 3000);
    }

    @Test
    void proxyProtocolGivesTheRealClientAddress() throws Exception {
        int port = TestSupport.freePort();
        String yaml = """
            listeners: [{port: %d, proxyProtocol: true}]
            backends: [{name: app, endpoints: ["127.0.0.1:%d"]}]
            routes: [{host: pp.test, paths: [{path: /, backend: app}]}]
            """.formatted(port, origin.port());
        try (Running pp = new Running(io.sluice.dataplane.proxy.DataPlane.start(
            io.sluice.dataplane.config.ConfigLoader.parse(yaml, 0).withCpus(new int[] {0})), port)) {
            String v1 = "PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\nGET /v1 HTTP/1.1\r\nHost: pp.test\r\n"
                + "Connection: close\r\n\r\n";
            assertTrue(rawExchange(port, v1.getBytes(StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 200"));
            assertEquals("203.0.113.7", lastSeen("/v1").header("x-forwarded-for"));

            byte[] req = "GET /v2 HTTP/1.1\r\nHost: pp.test\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
            byte[] v2 = new byte[16 + 36 + req.length];
            byte[] sig = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
            System.arraycopy(sig, 0, v2, 0, 12);
            v2[12] = 0x21; // v2, PROXY
            v2[13] = 0x21; // AF_INET6, STREAM
            v2[15] = 36;
            byte[] src = java.net.InetAddress.getByName("2001:db8::42").getAddress();
            System.arraycopy(src, 0, v2, 16, 16);
            v2[16 + 32] = (byte) 0xc0;
            System.arraycopy(req, 0, v2, 52, req.length);
            assertTrue(rawExchange(port, v2).startsWith("HTTP/1.1 200"));
            assertEquals("2001:db8:0:0:0:0:0:42", lastSeen("/v2").header("x-forwarded-for"));

            // no header: refused (the client bypassed the balancer)
            assertEquals("", rawExchange(port, req));
            assertTrue(pp.dp().sum(s -> s.stats.proxyProtocolErrors) >= 1);
        }
    }

    // ------------------------------------------------------------------------------------------- helpers

    private static boolean allInstalled(long generation) {
        return proxy.dp().shards().stream().allMatch(s -> s.installedGeneration() >= generation);
    }

    private static RouteTable table(long gen, List<TlsCertificate> certs, int originPort) {
        List<Backend> backends = List.of(new Backend("app", Balancer.ROUND_ROBIN,
            List.of(new Endpoint("127.0.0.1", originPort))));
        List<VirtualHost> hosts = new ArrayList<>();
        for (String h : List.of("secure.test", "old.test", "mtls.test", "mismatch.test")) {
            hosts.add(new VirtualHost(h, List.of(new PathRule("/", PathType.PREFIX, 0, "ingress t/" + h))));
        }
        return new RouteTable(gen, hosts, backends, -1, certs);
    }

    private static TestSupport.Seen lastSeen(String target) {
        TestSupport.Seen found = null;
        for (TestSupport.Seen s : origin.seen) {
            if (s.requestLine().contains(" " + target + " ")) {
                found = s;
            }
        }
        assertNotNull(found, "origin saw " + target);
        return found;
    }

    private static String fingerprint(String sClientOut) throws Exception {
        int b = sClientOut.indexOf("-----BEGIN CERTIFICATE-----");
        int e = sClientOut.indexOf("-----END CERTIFICATE-----", b);
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(
            Pem.certificates(sClientOut.substring(b, e + 25)).get(0).getEncoded()));
    }

    private static String fingerprintOf(String file) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(
            Pem.certificates(Files.readString(dir.resolve(file))).get(0).getEncoded()));
    }

    private static void leaf(String name, String type, String cn, String san, int days) throws Exception {
        if (type.equals("ec")) {
            openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name + ".key");
        } else {
            openssl("genrsa", "-traditional", "-out", name + ".key", "2048"); // PKCS#1, as cert-manager writes
        }
        openssl("req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn, "-out", name + ".csr");
        Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=" + san + "\n");
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", Integer.toString(days), "-extfile", name + ".ext", "-out", name + ".crt");
        if (name.equals("ec") || name.equals("rsa") || name.equals("other") || name.equals("mtls")
            || name.equals("backend")) {
            // chains as Secrets hold them: leaf, then the issuer
            Files.writeString(dir.resolve(name + ".crt"), Files.readString(dir.resolve(name + ".crt"))
                + Files.readString(dir.resolve("ca.crt")));
        }
    }

    private static void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Run r = runIn(dir, cmd.toArray(new String[0]));
        if (r.exit != 0) {
            throw new IllegalStateException(cmd + ": " + r.err);
        }
    }

    private static String sClient(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + tlsPort));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        p.waitFor(20, TimeUnit.SECONDS);
        return new String(out, StandardCharsets.UTF_8);
    }

    /** s_client with one request for secure.test written after the handshake (TLS 1.3 tickets follow the first write). */
    private static String sClientRequest(String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("-servername", "secure.test"));
        a.addAll(List.of(args));
        return sClientWithRequest("secure.test", a);
    }

    private static String sClientRequestTo(String host, String... args) throws Exception {
        List<String> a = new ArrayList<>(List.of("-servername", host));
        a.addAll(List.of(args));
        return sClientWithRequest(host, a);
    }

    private static String sClientWithRequest(String host, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + tlsPort,
            "-ign_eof"));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try (OutputStream o = p.getOutputStream()) {
            o.write(("GET /" + host.replace(".test", "") + " HTTP/1.1\r\nHost: " + host
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        }
        byte[] out = p.getInputStream().readAllBytes();
        p.waitFor(20, TimeUnit.SECONDS);
        return new String(out, StandardCharsets.UTF_8);
    }

    private static boolean closedAfter(byte[] bytes) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", tlsPort), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            try {
                while (in.read() != -1) {
                    // an alert may come first
                }
                return true;
            } catch (java.net.SocketTimeoutException e) {
                return false;
            } catch (IOException e) {
                return true;
            }
        }
    }

    private static String rawExchange(int port, byte[] bytes) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(bytes);
            s.getOutputStream().flush();
            try {
                return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            } catch (IOException e) {
                return "";
            }
        }
    }

    private static SSLSocket trustAllSocket(String sni) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] c, String a) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] c, String a) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", tlsPort);
        javax.net.ssl.SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new javax.net.ssl.SNIHostName(sni)));
        s.setSSLParameters(p);
        s.setSoTimeout(5000);
        s.startHandshake();
        return s;
    }

    private static String exchange(SSLSocket s, String host) throws IOException {
        s.getOutputStream().write(("GET /held HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        String status = TestSupport.readLine(in);
        java.util.Map<String, List<String>> h = TestSupport.readHeaders(in);
        TestSupport.readBody(in, h, false);
        return status;
    }

    private static SSLContext serverContext(String name) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("k", Pem.privateKey(Files.readString(dir.resolve(name + ".key"))), new char[0],
            Pem.certificates(Files.readString(dir.resolve(name + ".crt"))).toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... cmd) throws Exception {
        return runIn(null, cmd);
    }

    private static Run runIn(Path cwd, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        p.waitFor(30, TimeUnit.SECONDS);
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }
}
