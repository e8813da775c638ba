package io.sluice.nictuning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void parsesValues() {
        Map<String, Object> m = Json.parseObject(
                " {\"a\": 1, \"b\": [true, false, null, -2.5e1], \"c\": {\"d\": \"x\\\"\\n\\u0041\\\\\"}, \"e\": []}");
        assertEquals(1L, m.get("a"));
        assertEquals(List.of(true, false), ((List<?>) m.get("b")).subList(0, 2));
        assertNull(((List<?>) m.get("b")).get(2));
        assertEquals(-25.0, ((List<?>) m.get("b")).get(3));
        assertEquals("x\"\nA\\", ((Map<?, ?>) m.get("c")).get("d"));
        assertEquals(List.of(), m.get("e"));
        assertEquals(List.of("a", "b", "c", "e"), List.copyOf(m.keySet()), "members keep their order");
    }

    @Test
    void rejectsMalformedDocuments() {
        for (String bad : new String[] {"", "{", "{\"a\":1,}", "{\"a\" 1}", "[1 2]", "{\"a\":1}x", "{\"a\":tru}",
            "{\"a\":1,\"a\":2}", "{\"a\":\"\\q\"}", "{a:1}"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("malformed JSON"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Json.parseObject("[1]"));
    }

    @Test
    void writesWhatItReads() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("name", "tab\there \"quoted\"");
        root.put("n", 42);
        root.put("table", new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17});
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("shard", 0);
        inner.put("cpu", 8);
        root.put("shards", List.of(inner));
        root.put("none", null);
        String text = Json.write(root);
        assertTrue(text.contains("{\"shard\": 0, \"cpu\": 8}"), "small objects on one line:\n" + text);
        Map<String, Object> back = Json.parseObject(text);
        assertEquals("tab\there \"quoted\"", back.get("name"));
        assertEquals(42L, back.get("n"));
        assertEquals(18, ((List<?>) back.get("table")).size());
        assertEquals(17L, ((List<?>) back.get("table")).get(17));
        assertTrue(back.containsKey("none"));
        assertEquals(8L, ((Map<?, ?>) ((List<?>) back.get("shards")).get(0)).get("cpu"));
    }
}
