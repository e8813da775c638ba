package io.sluice.dataplane.proxy;

import io.sluice.dataplane.ops.AdminServer;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Helpers for the operations tests: the admin port over a real socket, metric values, JSON. */
final class OpsTestSupport {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private OpsTestSupport() {
    }

    static AdminServer admin(TestSupport.Running r) throws IOException {
        long g = r.dp().current().generation();
        return AdminServer.start(r.dp(), "127.0.0.1", 0, () -> g);
    }

    static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Sum of every sample of {@code name} whose label set contains all of {@code labels} (e.g. host="a"). */
    static double metric(String exposition, String name, String... labels) {
        double sum = 0;
        Pattern p = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*\\})? (\\S+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(exposition);
        outer:
        while (m.find()) {
            String ls = m.group(1) == null ? "" : m.group(1);
            for (String l : labels) {
                if (!ls.contains(l)) {
                    continue outer;
                }
            }
            sum += Double.parseDouble(m.group(2));
        }
        return sum;
    }

    static Object json(String text) {
        return new Yaml(new SafeConstructor(new LoaderOptions())).load(text); // JSON is YAML
    }

    /** One GET through the proxy on a fresh connection; returns the status. */
    static int request(int port, String host, String path) throws IOException {
        try (TestSupport.Client c = new TestSupport.Client(port)) {
            c.send("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n");
            TestSupport.Response r = c.read();
            return r == null ? -1 : r.status();
        }
    }
}
