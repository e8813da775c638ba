package io.sluice.nictuning;

import io.sluice.nictuning.rss.RssSourcePortSolver;
import io.sluice.nictuning.rss.RssTable;
import io.sluice.nictuning.rss.ToeplitzHash;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The core map: which CPU each data-plane shard runs on and which NIC receive queue it owns, plus the NIC's RSS key and
 * indirection table so the data plane can compute where the NIC will deliver a flow. Written by
 * {@code nic-tuning plan/apply}; read by the data plane at start with {@link #read(Path)}.
 *
 * <p>File format (JSON, UTF-8):
 * <pre>
 * {
 *   "format": "sluice-coremap",
 *   "version": 1,
 *   "nic": "ens1f0np0",              interface the map was planned for
 *   "driver": "mlx5_core",
 *   "numaNode": 1,                   the NIC's NUMA node (-1: unknown)
 *   "steering": "rss",               "rss": queue IRQs pinned, the NIC's Toeplitz RSS picks the queue;
 *                                    "rps": no per-queue IRQs (veth), the kernel's RPS steers by rps_cpus
 *   "smt": false,                    whether SMT siblings got their own shards
 *   "shards": [ {"shard": 0, "cpu": 8, "queue": 0}, ... ],   shard i at index i
 *   "rss": {                         null when the NIC has no (Toeplitz) RSS the data plane can predict
 *     "function": "toeplitz",
 *     "key": "6d5a56da...",          the RSS key, hex, 40 or more bytes
 *     "indirection": [0, 1, ...]     entry i = queue for hash low bits i; power-of-two size
 *   }
 * }
 * </pre>
 * Instances are immutable.
 */
public final class CoreMap {
    /** The value of the {@code "format"} member. */
    public static final String FORMAT = "sluice-coremap";
    /** The format version this class writes and reads. */
    public static final int VERSION = 1;
    /** Where nic-tuning writes the core map unless told otherwise. */
    public static final String DEFAULT_PATH = "/etc/sluice/coremap.json";

    /** How received packets reach a queue's CPU. */
    public enum Steering {
        /** Each queue's IRQ is pinned to its shard's CPU; the NIC's RSS hash chooses the queue. */
        RSS,
        /** No per-queue interrupts: the kernel's RPS moves each queue's packets to its shard's CPU. */
        RPS
    }

    /**
     * One shard.
     *
     * @param shard shard index, 0-based and equal to its position
     * @param cpu the logical CPU it is pinned to
     * @param queue the NIC receive (and transmit) queue it owns
     */
    public record Shard(int shard, int cpu, int queue) {
    }

    private final String nic;
    private final String driver;
    private final int numaNode;
    private final Steering steering;
    private final boolean smt;
    private final List<Shard> shards;
    private final byte[] rssKey;
    private final int[] indirection;

    /**
     * @param rssKey the RSS key, or an empty array when the NIC has no predictable RSS
     * @param indirection the indirection table, empty exactly when {@code rssKey} is
     */
    public CoreMap(String nic, String driver, int numaNode, Steering steering, boolean smt, List<Shard> shards,
            byte[] rssKey, int[] indirection) {
        this.nic = Objects.requireNonNull(nic, "nic");
        this.driver = Objects.requireNonNull(driver, "driver");
        this.numaNode = numaNode;
        this.steering = Objects.requireNonNull(steering, "steering");
        this.smt = smt;
        this.shards = List.copyOf(Objects.requireNonNull(shards, "shards"));
        this.rssKey = Objects.requireNonNull(rssKey, "rssKey").clone();
        this.indirection = Objects.requireNonNull(indirection, "indirection").clone();
        if (this.shards.isEmpty()) {
            throw new IllegalArgumentException("a core map needs at least one shard");
        }
        BitSet cpus = new BitSet();
        BitSet queues = new BitSet();
        for (int i = 0; i < this.shards.size(); i++) {
            Shard s = this.shards.get(i);
            if (s.shard() != i) {
                throw new IllegalArgumentException("shard at position " + i + " has index " + s.shard());
            }
            if (s.cpu() < 0 || cpus.get(s.cpu())) {
                throw new IllegalArgumentException("shard " + i + ": CPU " + s.cpu() + " invalid or used twice");
            }
            if (s.queue() < 0 || queues.get(s.queue())) {
                throw new IllegalArgumentException("shard " + i + ": queue " + s.queue() + " invalid or used twice");
            }
            cpus.set(s.cpu());
            queues.set(s.queue());
        }
        if ((this.rssKey.length == 0) != (this.indirection.length == 0)) {
            throw new IllegalArgumentException("RSS key and indirection table must both be present or both absent");
        }
        if (this.rssKey.length > 0) {
            if (this.rssKey.length < ToeplitzHash.MIN_KEY_BYTES) {
                throw new IllegalArgumentException("RSS key has " + this.rssKey.length + " bytes, fewer than "
                        + ToeplitzHash.MIN_KEY_BYTES);
            }
            int n = this.indirection.length;
            if ((n & (n - 1)) != 0) {
                throw new IllegalArgumentException("indirection table size " + n + " is not a power of two");
            }
            for (int q : this.indirection) {
                if (q < 0) {
                    throw new IllegalArgumentException("negative queue in indirection table");
                }
            }
        }
    }

    /** Reads and validates a core map file. */
    public static CoreMap read(Path file) throws IOException {
        String text = Files.readString(file);
        try {
            return parse(text);
        } catch (IllegalArgumentException e) {
            throw new IOException("invalid core map " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses a core map document. */
    public static CoreMap parse(String json) {
        Map<String, Object> root = Json.parseObject(json);
        if (!FORMAT.equals(root.get("format"))) {
            throw new IllegalArgumentException("not a core map (\"format\" is not \"" + FORMAT + "\")");
        }
        int version = Json.integer(root, "version");
        if (version != VERSION) {
            throw new IllegalArgumentException("core map version " + version + " is not supported (expected "
                    + VERSION + ")");
        }
        List<Shard> shards = new ArrayList<>();
        for (Map<String, Object> s : Json.objectArray(root, "shards")) {
            shards.add(new Shard(Json.integer(s, "shard"), Json.integer(s, "cpu"), Json.integer(s, "queue")));
        }
        String steeringText = Json.string(root, "steering");
        Steering steering;
        try {
            steering = Steering.valueOf(steeringText.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown steering \"" + steeringText + "\"");
        }
        byte[] key = new byte[0];
        int[] table = new int[0];
        Map<String, Object> rss = Json.optObject(root, "rss");
        if (rss != null) {
            String function = Json.string(rss, "function");
            if (!function.equals("toeplitz")) {
                throw new IllegalArgumentException("RSS function \"" + function + "\" is not supported");
            }
            try {
                key = HexFormat.of().parseHex(Json.string(rss, "key"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("RSS key is not hexadecimal");
            }
            table = Json.intArray(rss, "indirection");
            if (key.length == 0 || table.length == 0) {
                throw new IllegalArgumentException("\"rss\" needs a key and an indirection table");
            }
        }
        return new CoreMap(Json.string(root, "nic"), Json.string(root, "driver"), Json.integer(root, "numaNode"),
                steering, Json.bool(root, "smt", false), shards, key, table);
    }

    /** Writes the core map atomically (a temporary file renamed over it), creating the directory. */
    public void write(Path file) throws IOException {
        HostFs.writeAtomically(file, toJson());
    }

    /** The JSON document. */
    public String toJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("nic", nic);
        root.put("driver", driver);
        root.put("numaNode", numaNode);
        root.put("steering", steering.name().toLowerCase(Locale.ROOT));
        root.put("smt", smt);
        List<Object> list = new ArrayList<>();
        for (Shard s : shards) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("shard", s.shard());
            m.put("cpu", s.cpu());
            m.put("queue", s.queue());
            list.add(m);
        }
        root.put("shards", list);
        if (hasRss()) {
            Map<String, Object> rss = new LinkedHashMap<>();
            rss.put("function", "toeplitz");
            rss.put("key", HexFormat.of().formatHex(rssKey));
            rss.put("indirection", indirection);
            root.put("rss", rss);
        } else {
            root.put("rss", null);
        }
        return Json.write(root);
    }

    public String nic() {
        return nic;
    }

    public String driver() {
        return driver;
    }

    public int numaNode() {
        return numaNode;
    }

    public Steering steering() {
        return steering;
    }

    public boolean smt() {
        return smt;
    }

    public List<Shard> shards() {
        return shards;
    }

    public int shardCount() {
        return shards.size();
    }

    public Shard shard(int index) {
        return shards.get(index);
    }

    /** The CPUs of the shards, in shard order. */
    public int[] cpus() {
        return shards.stream().mapToInt(Shard::cpu).toArray();
    }

    /** The shard pinned to {@code cpu}, or -1. */
    public int shardOfCpu(int cpu) {
        for (Shard s : shards) {
            if (s.cpu() == cpu) {
                return s.shard();
            }
        }
        return -1;
    }

    /** The shard owning receive queue {@code queue}, or -1. */
    public int shardOfQueue(int queue) {
        for (Shard s : shards) {
            if (s.queue() == queue) {
                return s.shard();
            }
        }
        return -1;
    }

    /** Whether the map carries a Toeplitz key and indirection table. */
    public boolean hasRss() {
        return rssKey.length > 0;
    }

    /** A copy of the RSS key (empty without RSS). */
    public byte[] rssKey() {
        return rssKey.clone();
    }

    /** A copy of the indirection table (empty without RSS). */
    public int[] indirection() {
        return indirection.clone();
    }

    /** The NIC's RSS function: hash and indirection table. */
    public RssTable rssTable() {
        requireRss();
        return new RssTable(new ToeplitzHash(rssKey), indirection);
    }

    /**
     * A new source-port solver for {@code shard} (one per shard; it keeps a search cursor and must stay on that
     * shard's thread).
     */
    public RssSourcePortSolver sourcePortSolver(int shard) {
        requireRss();
        return new RssSourcePortSolver(new ToeplitzHash(rssKey), indirection, shards.get(shard).queue());
    }

    private void requireRss() {
        if (!hasRss()) {
            throw new IllegalStateException("core map for " + nic + " has no RSS key and indirection table");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CoreMap c && nic.equals(c.nic) && driver.equals(c.driver) && numaNode == c.numaNode
                && steering == c.steering && smt == c.smt && shards.equals(c.shards)
                && Arrays.equals(rssKey, c.rssKey) && Arrays.equals(indirection, c.indirection);
    }

    @Override
    public int hashCode() {
        return Objects.hash(nic, shards, Arrays.hashCode(indirection));
    }

    @Override
    public String toString() {
        return "CoreMap[" + nic + ", " + shards.size() + " shards, steering " + steering + "]";
    }
}
