package io.sluice.dataplane.proxy;

import io.sluice.dataplane.config.ConfigLoader;
import io.sluice.dataplane.proxy.TestSupport.Origin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * testssl.sh (Debian's) against a TLS listener with the default TLS settings and a certificate as a user would have
 * one (CA-signed, with an OCSP responder URL): no finding of severity HIGH or CRITICAL. The scan takes two to three
 * minutes; CI installs testssl.sh, elsewhere the test is skipped when it is absent.
 */
@Timeout(600)
class TestsslScanTest {
    @TempDir
    Path dir;

    @Test
    void defaultTlsSettingsHaveNoHighOrCriticalFinding() throws Exception {
        String testssl = Arrays.stream(System.getenv("PATH").split(":"))
            .flatMap(d -> java.util.stream.Stream.of(Path.of(d, "testssl"), Path.of(d, "testssl.sh")))
            .filter(Files::isExecutable).map(Path::toString).findFirst().orElse(null);
        if (testssl == null && System.getenv("CI") != null) {
            throw new AssertionError("testssl.sh is required in CI (.ci/run installs it)");
        }
        assumeTrue(testssl != null, "testssl.sh not installed");

        run(dir, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key");
        run(dir, "openssl", "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=Scan CA", "-days", "30",
            "-out", "ca.crt");
        run(dir, "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "site.key");
        run(dir, "openssl", "req", "-new", "-key", "site.key", "-subj", "/CN=scan.test", "-out", "site.csr");
        Files.writeString(dir.resolve("site.ext"), "subjectAltName=DNS:scan.test\n"
            + "authorityInfoAccess=OCSP;URI:http://ocsp.scan.test/\nextendedKeyUsage=serverAuth\n");
        run(dir, "openssl", "x509", "-req", "-in", "site.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "90", "-extfile", "site.ext", "-out", "site.crt");
        Files.writeString(dir.resolve("chain.crt"), Files.readString(dir.resolve("site.crt"))
            + Files.readString(dir.resolve("ca.crt")));

        try (Origin origin = new Origin(TestSupport.ok("scan"))) {
            int port = TestSupport.freePort();
            String yaml = """
                listeners: [{port: %d, tls: true}]
                tls:
                  certificates: [{name: scan, hosts: [scan.test], certFile: "%s", keyFile: "%s"}]
                backends: [{name: app, endpoints: ["127.0.0.1:%d"]}]
                routes: [{host: scan.test, paths: [{path: /, backend: app}]}]
                """.formatted(port, dir.resolve("chain.crt"), dir.resolve("site.key"), origin.port());
            try (TestSupport.Running proxy = new TestSupport.Running(DataPlane.start(
                ConfigLoader.parse(yaml, 0).withCpus(new int[] {0})), port)) {
                Path json = dir.resolve("scan.json");
                Process p = new ProcessBuilder(testssl, "--quiet", "--color", "0", "--warnings", "off",
                    "--severity", "LOW", "--add-ca", dir.resolve("ca.crt").toString(), "--jsonfile", json.toString(),
                    "--ip", "127.0.0.1", "https://scan.test:" + port).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("scan.txt").toFile()).start();
                assertTrue(p.waitFor(540, TimeUnit.SECONDS), "testssl finished");
                String report = Files.readString(json, StandardCharsets.UTF_8);
                List<String> bad = new ArrayList<>();
                List<String> all = new ArrayList<>();
                Matcher m = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]*)\"[^}]*?\"severity\"\\s*:\\s*\"([A-Z]+)\""
                    + "[^}]*?\"finding\"\\s*:\\s*\"([^\"]*)\"").matcher(report);
                while (m.find()) {
                    all.add(m.group(2) + " " + m.group(1) + ": " + m.group(3));
                    if (m.group(2).equals("HIGH") || m.group(2).equals("CRITICAL")) {
                        bad.add(m.group(1) + ": " + m.group(3));
                    }
                }
                assertTrue(report.contains("scanTime") || !all.isEmpty(), "testssl wrote a report: " + report);
                assertTrue(all.stream().noneMatch(f -> f.contains("scanProblem")), "scan ran: " + all);
                assertTrue(bad.isEmpty(), "HIGH/CRITICAL findings: " + bad + "\nall findings: " + all);
                // the scan did reach Sluice: it saw our HSTS header
                assertTrue(all.stream().noneMatch(f -> f.startsWith("LOW HSTS") && f.contains("not offered")),
                    String.valueOf(all));
            }
        }
    }

    private static void run(Path cwd, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(List.of(cmd) + ": " + out);
        }
    }
}
