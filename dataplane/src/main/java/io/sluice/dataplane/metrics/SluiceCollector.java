package io.sluice.dataplane.metrics;

import io.prometheus.client.Collector;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.hotspot.DefaultExports;
import io.netty.buffer.PooledByteBufAllocator;
import io.sluice.dataplane.ops.AccessLog;
import io.sluice.dataplane.ops.EndpointHealth;
import io.sluice.dataplane.proxy.DataPlane;
import io.sluice.dataplane.proxy.Shard;
import io.sluice.dataplane.proxy.ShardBackend;
import io.sluice.dataplane.proxy.ShardEndpoint;
import io.sluice.dataplane.proxy.UpstreamPool;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns the shards' plain counters into Prometheus samples at scrape time, on the scraping thread (the admin server's),
 * never on a shard. Reads shard data only through published references and racily read counters (see
 * {@link ShardMetrics}). Every metric is documented in docs/METRICS.md.
 */
public final class SluiceCollector extends Collector {
    private static final List<String> ROUTE_LABELS = List.of("shard", "host", "rule", "service", "namespace", "ingress");
    private final DataPlane dp;

    public SluiceCollector(DataPlane dp) {
        this.dp = dp;
    }

    /** A registry with this collector and the JVM's (GC, memory pools, buffer pools, threads) from simpleclient_hotspot. */
    public static CollectorRegistry registry(DataPlane dp) {
        CollectorRegistry r = new CollectorRegistry(true);
        r.register(new SluiceCollector(dp));
        DefaultExports.register(r);
        return r;
    }

    @Override
    public List<MetricFamilySamples> collect() {
        List<MetricFamilySamples> out = new ArrayList<>();
        RouteSeries.Labels[] series = RouteSeries.all();
        List<Shard> shards = dp.shards();

        List<MetricFamilySamples.Sample> requests = new ArrayList<>();
        List<MetricFamilySamples.Sample> down = new ArrayList<>();
        List<MetricFamilySamples.Sample> up = new ArrayList<>();
        List<MetricFamilySamples.Sample> reqBytes = new ArrayList<>();
        List<MetricFamilySamples.Sample> respBytes = new ArrayList<>();
        List<String> reqLabels = List.of("shard", "host", "rule", "service", "namespace", "ingress", "protocol",
            "method", "status_class");
        for (Shard s : shards) {
            ShardMetrics.Block b = s.metrics.block();
            String shard = Integer.toString(s.id);
            int n = Math.min(b.series, series.length);
            for (int i = 0; i < n; i++) {
                RouteSeries.Labels l = series[i];
                List<String> rl = List.of(shard, l.host(), l.rule(), l.service(), l.namespace(), l.ingress());
                long total = 0;
                int base = i * ShardMetrics.REQ_STRIDE;
                for (int p = 0; p < ShardMetrics.PROTOCOLS.length; p++) {
                    for (int m = 0; m < ShardMetrics.METHODS; m++) {
                        for (int c = 0; c < ShardMetrics.STATUS_CLASSES; c++) {
                            long v = b.requests[base + (p * ShardMetrics.METHODS + m) * ShardMetrics.STATUS_CLASSES + c];
                            if (v == 0) {
                                continue;
                            }
                            total += v;
                            List<String> values = new ArrayList<>(rl);
                            values.add(ShardMetrics.PROTOCOLS[p]);
                            values.add(ShardMetrics.METHOD_LABELS[m]);
                            values.add(ShardMetrics.STATUS_LABELS[c]);
                            requests.add(new MetricFamilySamples.Sample("sluice_requests_total", reqLabels, values, v));
                        }
                    }
                }
                if (total == 0) {
                    continue; // a series this shard never served: no histogram lines for it
                }
                histogram(down, "sluice_request_duration_seconds", rl, b.downstream, i * ShardMetrics.HIST_STRIDE);
                histogram(up, "sluice_upstream_response_seconds", rl, b.upstream, i * ShardMetrics.HIST_STRIDE);
                reqBytes.add(new MetricFamilySamples.Sample("sluice_request_bytes_total", ROUTE_LABELS, rl,
                    b.bytes[i * 2]));
                respBytes.add(new MetricFamilySamples.Sample("sluice_response_bytes_total", ROUTE_LABELS, rl,
                    b.bytes[i * 2 + 1]));
            }
        }
        out.add(new MetricFamilySamples("sluice_requests", Type.COUNTER,
            "Requests answered, by route, protocol, method and status class.", requests));
        out.add(new MetricFamilySamples("sluice_request_duration_seconds", Type.HISTOGRAM,
            "Time from a request head parsed to its response's end (downstream latency).", down));
        out.add(new MetricFamilySamples("sluice_upstream_response_seconds", Type.HISTOGRAM,
            "Time from a request sent upstream to the response head received (upstream latency).", up));
        out.add(new MetricFamilySamples("sluice_request_bytes", Type.COUNTER,
            "Request bytes received (head and body), by route.", reqBytes));
        out.add(new MetricFamilySamples("sluice_response_bytes", Type.COUNTER,
            "Response bytes sent to clients (head and body), by route.", respBytes));

        shardFamilies(out, shards);
        endpointFamilies(out, shards);
        tableFamilies(out, shards);

        out.add(gauge("sluice_netty_direct_memory_bytes", "Direct memory held by Netty's pooled allocator.",
            PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory()));
        out.add(gauge("sluice_draining", "1 while the data plane drains (SIGTERM), else 0.",
            dp.ops().draining() ? 1 : 0));
        return out;
    }

    private static void histogram(List<MetricFamilySamples.Sample> out, String name, List<String> labels, long[] h,
                                  int base) {
        List<String> names = new ArrayList<>(labels.size() + 1);
        names.addAll(ROUTE_LABELS);
        names.add("le");
        long cumulative = 0;
        for (int k = 0; k < LatencyBuckets.COUNT; k++) {
            cumulative += h[base + k];
            List<String> v = new ArrayList<>(labels);
            v.add(Collector.doubleToGoString(LatencyBuckets.upperSeconds(k)));
            out.add(new MetricFamilySamples.Sample(name + "_bucket", names, v, cumulative));
        }
        out.add(new MetricFamilySamples.Sample(name + "_count", ROUTE_LABELS, labels, cumulative));
        out.add(new MetricFamilySamples.Sample(name + "_sum", ROUTE_LABELS, labels, h[base + LatencyBuckets.COUNT] / 1e9));
    }

    private void shardFamilies(List<MetricFamilySamples> out, List<Shard> shards) {
        List<String> sl = List.of("shard");
        List<MetricFamilySamples.Sample> active = new ArrayList<>();
        List<MetricFamilySamples.Sample> total = new ArrayList<>();
        List<MetricFamilySamples.Sample> retries = new ArrayList<>();
        List<MetricFamilySamples.Sample> denied = new ArrayList<>();
        List<MetricFamilySamples.Sample> connectErrors = new ArrayList<>();
        List<MetricFamilySamples.Sample> timeouts = new ArrayList<>();
        List<MetricFamilySamples.Sample> rejected = new ArrayList<>();
        List<MetricFamilySamples.Sample> overflow = new ArrayList<>();
        List<MetricFamilySamples.Sample> tls = new ArrayList<>();
        List<MetricFamilySamples.Sample> tlsFail = new ArrayList<>();
        List<MetricFamilySamples.Sample> logged = new ArrayList<>();
        List<MetricFamilySamples.Sample> dropped = new ArrayList<>();
        List<MetricFamilySamples.Sample> l4Flows = new ArrayList<>();
        List<MetricFamilySamples.Sample> l4Active = new ArrayList<>();
        List<MetricFamilySamples.Sample> l4Datagrams = new ArrayList<>();
        List<MetricFamilySamples.Sample> l4Errors = new ArrayList<>();
        for (Shard s : shards) {
            List<String> v = List.of(Integer.toString(s.id));
            active.add(new MetricFamilySamples.Sample("sluice_connections_active", sl, v, s.liveConnections()));
            total.add(new MetricFamilySamples.Sample("sluice_connections_total", sl, v, s.stats.connections));
            retries.add(new MetricFamilySamples.Sample("sluice_retries_total", sl, v, s.stats.retries));
            denied.add(new MetricFamilySamples.Sample("sluice_retries_budget_exhausted_total", sl, v,
                s.retriesDenied()));
            connectErrors.add(new MetricFamilySamples.Sample("sluice_upstream_connect_errors_total", sl, v,
                s.stats.upstreamConnectErrors));
            timeouts.add(new MetricFamilySamples.Sample("sluice_upstream_timeouts_total", sl, v,
                s.stats.upstreamTimeouts));
            rejected.add(new MetricFamilySamples.Sample("sluice_requests_rejected_total", sl, v, s.stats.rejected));
            List<String> ol = List.of("shard", "limit");
            overflow.add(new MetricFamilySamples.Sample("sluice_circuit_breaker_overflow_total", ol,
                List.of(v.get(0), "requests"), s.stats.overflowRequests));
            overflow.add(new MetricFamilySamples.Sample("sluice_circuit_breaker_overflow_total", ol,
                List.of(v.get(0), "pending"), s.stats.overflowPending));
            for (int k = 0; k < ShardMetrics.TLS_VERSIONS.length; k++) {
                for (int r = 0; r < 2; r++) {
                    long c = s.metrics.tlsHandshakes[k * 2 + r];
                    if (c != 0) {
                        tls.add(new MetricFamilySamples.Sample("sluice_tls_handshakes_total",
                            List.of("shard", "version", "resumed"),
                            List.of(v.get(0), ShardMetrics.TLS_VERSIONS[k], r == 1 ? "true" : "false"), c));
                    }
                }
            }
            tlsFail.add(new MetricFamilySamples.Sample("sluice_tls_handshake_failures_total", sl, v,
                s.metrics.tlsHandshakeFailures));
            io.sluice.dataplane.l4.L4Stats l4 = s.l4().stats; // issue 6: protocol tcp / udp
            List<String> pl = List.of("shard", "protocol");
            l4Flows.add(new MetricFamilySamples.Sample("sluice_l4_flows_total", pl, List.of(v.get(0), "tcp"),
                l4.tcpAccepted));
            l4Flows.add(new MetricFamilySamples.Sample("sluice_l4_flows_total", pl, List.of(v.get(0), "udp"),
                l4.udpFlowsCreated));
            l4Active.add(new MetricFamilySamples.Sample("sluice_l4_connections_active", sl, v,
                s.l4().liveConnections()));
            List<String> dl = List.of("shard", "direction");
            l4Datagrams.add(new MetricFamilySamples.Sample("sluice_l4_udp_datagrams_total", dl,
                List.of(v.get(0), "in"), l4.udpDatagramsIn));
            l4Datagrams.add(new MetricFamilySamples.Sample("sluice_l4_udp_datagrams_total", dl,
                List.of(v.get(0), "out"), l4.udpDatagramsOut));
            List<String> el = List.of("shard", "protocol", "reason");
            l4Errors.add(new MetricFamilySamples.Sample("sluice_l4_errors_total", el,
                List.of(v.get(0), "tcp", "connect_failed"), l4.tcpConnectFailures));
            l4Errors.add(new MetricFamilySamples.Sample("sluice_l4_errors_total", el,
                List.of(v.get(0), "tcp", "no_endpoint"), l4.tcpNoEndpoint));
            l4Errors.add(new MetricFamilySamples.Sample("sluice_l4_errors_total", el,
                List.of(v.get(0), "udp", "no_endpoint"), l4.udpNoEndpoint));
            l4Errors.add(new MetricFamilySamples.Sample("sluice_l4_errors_total", el,
                List.of(v.get(0), "udp", "evicted"), l4.udpFlowsEvicted));
            AccessLog.Ring ring = s.accessLogRing();
            if (ring != null) {
                logged.add(new MetricFamilySamples.Sample("sluice_access_log_records_total", sl, v, ring.published));
                dropped.add(new MetricFamilySamples.Sample("sluice_access_log_dropped_total", sl, v, ring.dropped));
            }
        }
        out.add(new MetricFamilySamples("sluice_connections_active", Type.GAUGE, "Open client connections.", active));
        out.add(new MetricFamilySamples("sluice_connections", Type.COUNTER, "Client connections accepted.", total));
        out.add(new MetricFamilySamples("sluice_retries", Type.COUNTER,
            "Requests sent again (stale keep-alive connection, or another endpoint after a connect failure).",
            retries));
        out.add(new MetricFamilySamples("sluice_retries_budget_exhausted", Type.COUNTER,
            "Retries refused because the retry budget was spent.", denied));
        out.add(new MetricFamilySamples("sluice_upstream_connect_errors", Type.COUNTER,
            "Upstream connects that failed (refused, reset, timed out).", connectErrors));
        out.add(new MetricFamilySamples("sluice_upstream_timeouts", Type.COUNTER,
            "Exchanges answered 504 because the upstream was too slow.", timeouts));
        out.add(new MetricFamilySamples("sluice_requests_rejected", Type.COUNTER,
            "Requests refused before routing (malformed, too large).", rejected));
        out.add(new MetricFamilySamples("sluice_circuit_breaker_overflow", Type.COUNTER,
            "503s because a backend's request limit or an endpoint's pending queue was full.", overflow));
        out.add(new MetricFamilySamples("sluice_tls_handshakes", Type.COUNTER,
            "TLS handshakes completed, by version and resumption.", tls));
        out.add(new MetricFamilySamples("sluice_tls_handshake_failures", Type.COUNTER, "TLS handshakes failed.",
            tlsFail));
        out.add(new MetricFamilySamples("sluice_l4_flows", Type.COUNTER,
            "L4 flows started: TCP connections accepted, UDP flows created.", l4Flows));
        out.add(new MetricFamilySamples("sluice_l4_connections_active", Type.GAUGE, "Open L4 TCP connections.",
            l4Active));
        out.add(new MetricFamilySamples("sluice_l4_udp_datagrams", Type.COUNTER, "UDP datagrams relayed, by direction.",
            l4Datagrams));
        out.add(new MetricFamilySamples("sluice_l4_errors", Type.COUNTER,
            "L4 flows that failed: connect failures, no endpoint, UDP flows evicted by the size bound.", l4Errors));
        out.add(new MetricFamilySamples("sluice_access_log_records", Type.COUNTER,
            "Access-log records handed to the writer.", logged));
        out.add(new MetricFamilySamples("sluice_access_log_dropped", Type.COUNTER,
            "Access-log records dropped because the writer was behind (the shard never waits).", dropped));
    }

    private void endpointFamilies(List<MetricFamilySamples> out, List<Shard> shards) {
        List<String> el = List.of("shard", "service", "endpoint");
        List<MetricFamilySamples.Sample> conns = new ArrayList<>();
        List<MetricFamilySamples.Sample> reqs = new ArrayList<>();
        List<MetricFamilySamples.Sample> errs = new ArrayList<>();
        List<MetricFamilySamples.Sample> fives = new ArrayList<>();
        List<MetricFamilySamples.Sample> ejected = new ArrayList<>();
        List<MetricFamilySamples.Sample> ejections = new ArrayList<>();
        List<MetricFamilySamples.Sample> ejectedAt = new ArrayList<>();
        List<MetricFamilySamples.Sample> panic = new ArrayList<>();
        long nowMs = System.nanoTime() / 1_000_000;
        for (Shard s : shards) {
            String shard = Integer.toString(s.id);
            for (ShardBackend b : s.installedBackends()) {
                panic.add(new MetricFamilySamples.Sample("sluice_backend_panic_picks_total", List.of("shard", "service"),
                    List.of(shard, b.name()), b.panicPicks()));
                for (ShardEndpoint e : b.endpoints()) {
                    UpstreamPool p = e.pool();
                    List<String> v = List.of(shard, b.name(), e.key());
                    conns.add(new MetricFamilySamples.Sample("sluice_upstream_connections", el, v, p.openConnections()));
                    reqs.add(new MetricFamilySamples.Sample("sluice_upstream_requests_total", el, v, p.requests));
                    errs.add(new MetricFamilySamples.Sample("sluice_upstream_endpoint_connect_errors_total", el, v,
                        p.connectErrors));
                    fives.add(new MetricFamilySamples.Sample("sluice_upstream_5xx_total", el, v, p.responses5xx));
                    ejected.add(new MetricFamilySamples.Sample("sluice_endpoint_ejected", el, v,
                        p.ejected(nowMs) ? 1 : 0));
                    ejections.add(new MetricFamilySamples.Sample("sluice_outlier_ejections_total", el, v,
                        p.ejectionsTotal));
                    if (p.lastEjectionEpochMillis != 0) {
                        ejectedAt.add(new MetricFamilySamples.Sample("sluice_endpoint_last_ejection_timestamp_seconds",
                            el, v, p.lastEjectionEpochMillis / 1e3));
                    }
                }
            }
        }
        out.add(new MetricFamilySamples("sluice_upstream_connections", Type.GAUGE,
            "Upstream connections open (idle included), per shard and endpoint.", conns));
        out.add(new MetricFamilySamples("sluice_upstream_requests", Type.COUNTER,
            "Requests sent to an endpoint.", reqs));
        out.add(new MetricFamilySamples("sluice_upstream_endpoint_connect_errors", Type.COUNTER,
            "Failed connects to an endpoint.", errs));
        out.add(new MetricFamilySamples("sluice_upstream_5xx", Type.COUNTER,
            "5xx from an endpoint, and the proxy's own 502/504 for it.", fives));
        out.add(new MetricFamilySamples("sluice_endpoint_ejected", Type.GAUGE,
            "1 while passive outlier detection keeps this endpoint out of this shard's picks.", ejected));
        out.add(new MetricFamilySamples("sluice_outlier_ejections", Type.COUNTER,
            "Outlier ejections of an endpoint on a shard.", ejections));
        out.add(new MetricFamilySamples("sluice_endpoint_last_ejection_timestamp_seconds", Type.GAUGE,
            "Unix time of the endpoint's last ejection on this shard (endpoints ejected at least once).", ejectedAt));
        out.add(new MetricFamilySamples("sluice_backend_panic_picks", Type.COUNTER,
            "Picks made with every endpoint unhealthy or ejected (health ignored).", panic));

        List<MetricFamilySamples.Sample> healthy = new ArrayList<>();
        List<MetricFamilySamples.Sample> checks = new ArrayList<>();
        List<MetricFamilySamples.Sample> failures = new ArrayList<>();
        List<MetricFamilySamples.Sample> changedAt = new ArrayList<>();
        for (Map.Entry<String, EndpointHealth> e : dp.ops().health.all().entrySet()) {
            EndpointHealth h = e.getValue();
            if (h.checks() == 0) {
                continue;
            }
            List<String> v = List.of(e.getKey());
            healthy.add(new MetricFamilySamples.Sample("sluice_endpoint_healthy", List.of("endpoint"), v,
                h.healthy() ? 1 : 0));
            checks.add(new MetricFamilySamples.Sample("sluice_health_checks_total", List.of("endpoint"), v, h.checks()));
            failures.add(new MetricFamilySamples.Sample("sluice_health_check_failures_total", List.of("endpoint"), v,
                h.failures()));
            if (h.lastTransitionEpochMillis() != 0) {
                changedAt.add(new MetricFamilySamples.Sample("sluice_endpoint_health_changed_timestamp_seconds",
                    List.of("endpoint"), v, h.lastTransitionEpochMillis() / 1e3));
            }
        }
        out.add(new MetricFamilySamples("sluice_endpoint_healthy", Type.GAUGE,
            "Active health check state of an endpoint (1 healthy, 0 unhealthy).", healthy));
        out.add(new MetricFamilySamples("sluice_health_checks", Type.COUNTER, "Active health checks run.", checks));
        out.add(new MetricFamilySamples("sluice_endpoint_health_changed_timestamp_seconds", Type.GAUGE,
            "Unix time of the endpoint's last health state change.", changedAt));
        out.add(new MetricFamilySamples("sluice_health_check_failures", Type.COUNTER, "Active health checks failed.",
            failures));
    }

    private void tableFamilies(List<MetricFamilySamples> out, List<Shard> shards) {
        List<String> sl = List.of("shard");
        List<MetricFamilySamples.Sample> gen = new ArrayList<>();
        List<MetricFamilySamples.Sample> swap = new ArrayList<>();
        List<MetricFamilySamples.Sample> installs = new ArrayList<>();
        List<MetricFamilySamples.Sample> age = new ArrayList<>();
        long now = System.currentTimeMillis();
        for (Shard s : shards) {
            List<String> v = List.of(Integer.toString(s.id));
            gen.add(new MetricFamilySamples.Sample("sluice_route_table_generation", sl, v, s.installedGeneration()));
            swap.add(new MetricFamilySamples.Sample("sluice_route_table_swap_seconds", sl, v, s.lastSwapNanos() / 1e9));
            installs.add(new MetricFamilySamples.Sample("sluice_route_table_installs_total", sl, v,
                s.stats.tablesInstalled));
            long at = s.installedEpochMillis();
            age.add(new MetricFamilySamples.Sample("sluice_route_table_age_seconds", sl, v,
                at == 0 ? 0 : (now - at) / 1e3));
        }
        out.add(new MetricFamilySamples("sluice_route_table_generation", Type.GAUGE,
            "Generation of the route table installed on a shard.", gen));
        out.add(new MetricFamilySamples("sluice_route_table_swap_seconds", Type.GAUGE,
            "Last swap latency: from the table's hand-off to its install on the shard.", swap));
        out.add(new MetricFamilySamples("sluice_route_table_installs", Type.COUNTER, "Route tables installed.",
            installs));
        out.add(new MetricFamilySamples("sluice_route_table_age_seconds", Type.GAUGE,
            "Seconds since the shard installed its current table.", age));
    }

    private static MetricFamilySamples gauge(String name, String help, double value) {
        return new MetricFamilySamples(name, Type.GAUGE, help,
            List.of(new MetricFamilySamples.Sample(name, List.of(), List.of(), value)));
    }
}
