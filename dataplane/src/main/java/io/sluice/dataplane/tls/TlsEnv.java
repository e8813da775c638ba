package io.sluice.dataplane.tls;

import io.sluice.dataplane.config.TlsSettings;

/**
 * What building a table's TLS contexts needs besides the table: the node's settings, its ticket keys, and whether
 * ALPN offers {@code h2}. Null where the data plane has no TLS listener (then no server context is built).
 */
public record TlsEnv(TlsSettings settings, TicketKeys keys, boolean http2) {
}
