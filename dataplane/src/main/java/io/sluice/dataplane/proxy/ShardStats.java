package io.sluice.dataplane.proxy;

/**
 * Plain counters of one shard, written only by its thread. Readers on other threads (the admin endpoint, tests) see
 * values that may be a little stale, which is what counters are for; no atomic is paid on the request path.
 */
public final class ShardStats {
    public long connections;
    public long requests;
    public long responses;
    public long localResponses;
    public long rejected;
    public long retries;
    public long upstreamConnectErrors;
    public long upstreamTimeouts;
    public long tablesInstalled;
    public long tlsHandshakes;
    public long tlsResumed;
    public long tlsHandshakeFailures;
    public long tlsUnknownServerName;
    public long tlsPassthrough;
    public long tlsRedirects;
    public long proxyProtocolHeaders;
    public long proxyProtocolErrors;
}
