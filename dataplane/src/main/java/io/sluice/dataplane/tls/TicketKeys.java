package io.sluice.dataplane.tls;

import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The session ticket keys every TLS context of the node uses, so that a ticket issued on one shard resumes on any
 * other (the kernel spreads a client's connections over shards) and, with a key file, on any node.
 *
 * <p>Generated keys rotate every {@code rotationSeconds} on the {@code sluice-tls-tickets} thread: the new key
 * encrypts, the previous one still decrypts, so a ticket stays usable for one to two periods. With a key file (a
 * mounted Secret holding base64 lines of 48 bytes each: 16 name, 16 HMAC key, 16 AES key, as
 * {@code openssl rand -base64 48} makes them) the first line encrypts and all decrypt; the file is re-read on the
 * same schedule, so updating the Secret rotates keys on every node. Keys are never logged.
 */
public final class TicketKeys implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(TicketKeys.class.getName());

    private final Path file;
    private final SecureRandom random = new SecureRandom();
    private final ScheduledExecutorService rotator;
    private volatile OpenSslSessionTicketKey[] keys;
    /** The contexts of the installed table: rotation applies to these. */
    private volatile List<SslContext> contexts = List.of();
    private volatile long rotations;

    public TicketKeys(String keyFile, int rotationSeconds) {
        this.file = keyFile == null ? null : Path.of(keyFile);
        this.keys = file != null ? readFile(file) : new OpenSslSessionTicketKey[] {generate()};
        this.rotator = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-tls-tickets");
            t.setDaemon(true);
            return t;
        });
        rotator.scheduleAtFixedRate(this::rotate, rotationSeconds, rotationSeconds, TimeUnit.SECONDS);
    }

    /** Sets the current keys on {@code ctx}. */
    public void apply(SslContext ctx) {
        if (ctx.sessionContext() instanceof OpenSslSessionContext sc) {
            sc.setTicketKeys(keys);
        }
    }

    /** From now on, rotation applies to these contexts (the installed table's). */
    public void track(List<SslContext> live) {
        contexts = List.copyOf(live);
    }

    /**
     * Runs {@code release} after {@code delaySeconds} on this thread: replaced TLS contexts are released once every
     * shard has switched to the new table (shards switch within milliseconds; the delay is a wide margin).
     */
    public void later(Runnable release, int delaySeconds) {
        pending.add(release);
        rotator.schedule(() -> {
            if (pending.remove(release)) {
                release.run();
            }
        }, delaySeconds, TimeUnit.SECONDS);
    }

    private final java.util.Set<Runnable> pending = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Rotates now (scheduled; tests call it). */
    public void rotate() {
        try {
            if (file != null) {
                keys = readFile(file);
            } else {
                OpenSslSessionTicketKey[] k = keys;
                keys = new OpenSslSessionTicketKey[] {generate(), k[0]};
            }
            for (SslContext c : contexts) {
                apply(c);
            }
            rotations++;
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "session ticket key rotation failed; the current keys stay: " + e.getMessage());
        }
    }

    public long rotations() {
        return rotations;
    }

    /** Names of the current keys (first encrypts), for tests and the admin page; never the keys. */
    public List<String> keyNames() {
        List<String> names = new ArrayList<>();
        for (OpenSslSessionTicketKey k : keys) {
            names.add(java.util.HexFormat.of().formatHex(k.name()));
        }
        return names;
    }

    private OpenSslSessionTicketKey generate() {
        byte[] name = new byte[OpenSslSessionTicketKey.NAME_SIZE];
        byte[] hmac = new byte[OpenSslSessionTicketKey.HMAC_KEY_SIZE];
        byte[] aes = new byte[OpenSslSessionTicketKey.AES_KEY_SIZE];
        random.nextBytes(name);
        random.nextBytes(hmac);
        random.nextBytes(aes);
        return new OpenSslSessionTicketKey(name, hmac, aes);
    }

    static OpenSslSessionTicketKey[] readFile(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("ticket key file " + file + ": " + e.getMessage());
        }
        List<OpenSslSessionTicketKey> out = new ArrayList<>();
        int n = 0;
        for (String line : lines) {
            n++;
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            byte[] b;
            try {
                b = Base64.getDecoder().decode(l);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("ticket key file " + file + " line " + n + ": not base64");
            }
            if (b.length != OpenSslSessionTicketKey.TICKET_KEY_SIZE) {
                throw new IllegalArgumentException("ticket key file " + file + " line " + n + ": " + b.length
                    + " bytes, expected " + OpenSslSessionTicketKey.TICKET_KEY_SIZE + " (openssl rand -base64 48)");
            }
            int a = OpenSslSessionTicketKey.NAME_SIZE;
            int h = a + OpenSslSessionTicketKey.HMAC_KEY_SIZE;
            out.add(new OpenSslSessionTicketKey(Arrays.copyOfRange(b, 0, a), Arrays.copyOfRange(b, a, h),
                Arrays.copyOfRange(b, h, b.length)));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("ticket key file " + file + " has no key");
        }
        return out.toArray(new OpenSslSessionTicketKey[0]);
    }

    @Override
    public void close() {
        rotator.shutdownNow();
        for (Runnable r : pending) {
            if (pending.remove(r)) {
                r.run();
            }
        }
    }
}
