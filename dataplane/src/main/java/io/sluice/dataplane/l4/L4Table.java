package io.sluice.dataplane.l4;

import io.sluice.routetable.L4Service;

import java.util.List;

/**
 * The L4 services of one route table, compiled for the shards. A service equal to one of the previous table keeps
 * its compiled spec (and its Maglev table): shards then see the same object and keep their state for it as is.
 */
public final class L4Table {
    public static final L4Table EMPTY = new L4Table(new L4ServiceSpec[0]);

    public final L4ServiceSpec[] services;

    private L4Table(L4ServiceSpec[] services) {
        this.services = services;
    }

    public static L4Table compile(List<L4Service> services, L4Table previous, int defaultTableSize) {
        if (services.isEmpty()) {
            return EMPTY;
        }
        L4ServiceSpec[] out = new L4ServiceSpec[services.size()];
        for (int i = 0; i < out.length; i++) {
            L4Service s = services.get(i);
            L4ServiceSpec same = null;
            if (previous != null) {
                for (L4ServiceSpec p : previous.services) {
                    if (p.source.equals(s)) {
                        same = p;
                        break;
                    }
                }
            }
            out[i] = same != null ? same : new L4ServiceSpec(s, defaultTableSize);
        }
        return new L4Table(out);
    }
}
