package io.sluice.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sluice.agent.compile.IngressRules;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class IngressRulesTest {
    /**
     * checkHost walks labels in place (it runs for every rule, often before the JIT has compiled it); this is the
     * definition it replaced, written the obvious way with split(): both must give the same answer, message included,
     * for every host.
     */
    private static String reference(String host) {
        if (host == null || host.isEmpty()) {
            return null;
        }
        String rest = host.startsWith("*.") ? host.substring(2) : host;
        if (rest.indexOf('*') >= 0) {
            return "'*' is allowed only as the whole first label (*.example.com)";
        }
        if (rest.length() > 253) {
            return "longer than 253 characters";
        }
        if (!rest.equals(rest.toLowerCase(Locale.ROOT))) {
            return "must be lower case";
        }
        String[] labels = rest.split("\\.", -1);
        boolean allNumeric = true;
        for (String label : labels) {
            if (label.isEmpty()) {
                return "has an empty label";
            }
            if (label.length() > 63) {
                return "label '" + label + "' is longer than 63 characters";
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                boolean alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && c != '-') {
                    return "character '" + c + "' is not allowed in a DNS name";
                }
                if (c < '0' || c > '9') {
                    allNumeric = false;
                }
            }
            if (label.charAt(0) == '-' || label.charAt(label.length() - 1) == '-') {
                return "label '" + label + "' must start and end with a letter or digit";
            }
        }
        if (allNumeric && labels.length == 4 && !host.startsWith("*.")) {
            return "must be a DNS name, not an IP address";
        }
        return null;
    }

    @Test
    void checkHostAgreesWithItsDefinition() {
        List<String> hosts = new ArrayList<>(List.of("", "a", "example.com", "*.example.com", "*.", "*", "a.*.b",
            "**.a", "Example.com", "*.Example.com", "exämple.com", "ÄB.com", "a..b", ".a", "a.", "-a.b", "a-.b", "a-b.c",
            "1.2.3.4", "*.1.2.3", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a_b.c", "a b.c", "a".repeat(63) + ".b",
            "a".repeat(64) + ".b", ("a".repeat(60) + ".").repeat(5), "x." + "a".repeat(63)));
        SplittableRandom r = new SplittableRandom(3);
        String alphabet = "abcz09-.*A_Zé ";
        for (int i = 0; i < 50_000; i++) {
            StringBuilder sb = new StringBuilder(r.nextBoolean() ? "" : "*.");
            int n = r.nextInt(1, 20);
            for (int k = 0; k < n; k++) {
                sb.append(alphabet.charAt(r.nextInt(r.nextInt(4) == 0 ? alphabet.length() : 7)));
            }
            hosts.add(sb.toString());
        }
        for (String h : hosts) {
            assertEquals(reference(h), IngressRules.checkHost(h), () -> "host '" + h + "'");
        }
    }
}
