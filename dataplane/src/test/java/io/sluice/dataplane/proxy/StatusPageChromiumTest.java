package io.sluice.dataplane.proxy;

import io.sluice.dataplane.ops.AdminServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The status page in a real browser: headless Chromium loads it, its script polls /status.json and fills the tables. */
class StatusPageChromiumTest {
    private static String chromium() {
        for (String c : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
                if (new File(dir, c).canExecute()) {
                    return new File(dir, c).getPath();
                }
            }
        }
        return null;
    }

    @Test
    void shardAndEndpointRowsAreFilledByThePageScript() throws Exception {
        String browser = chromium();
        Assumptions.assumeTrue(browser != null,
            "chromium is not installed (apt-get install chromium; CI installs it): status page browser test skipped");
        try (TestSupport.Origin o = new TestSupport.Origin(TestSupport.ok("a"));
             TestSupport.Running r = TestSupport.proxy(TestSupport.routes(o.port()), 2);
             AdminServer admin = OpsTestSupport.admin(r)) {
            assertEquals(200, OpsTestSupport.request(r.port(), "app.test", "/"));
            Process p = new ProcessBuilder(browser, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--virtual-time-budget=5000", "--user-data-dir="
                + System.getProperty("java.io.tmpdir") + "/sluice-chromium-" + ProcessHandle.current().pid(),
                "--dump-dom", "http://127.0.0.1:" + admin.port() + "/status")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = p.getInputStream().readAllBytes();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "chromium finished");
            String dom = new String(out, StandardCharsets.UTF_8);
            assertEquals(2, count(dom, "<tr class=\"shard-row\">"), dom);
            assertEquals(1, count(dom, "<tr class=\"endpoint-row\">"), dom);
            assertTrue(dom.contains("127.0.0.1:" + o.port()), dom);
            assertTrue(dom.contains("<span id=\"state\">ready</span>"), dom);
        }
    }

    private static int count(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }
}
