package io.sluice.agent;

import java.nio.file.Path;
import java.util.List;

/** The agent's own option parser, for the deploy tests: the DaemonSet's agent args parse as the agent parses them. */
public final class AgentArgs {
    private AgentArgs() {
    }

    /** What the deploy tests check of a parsed command line. */
    public record Parsed(boolean inCluster, Path routes, List<String> statusAddresses, String publishNode) {
    }

    public static Parsed parse(List<String> args) throws AgentMain.UsageException {
        List<String> rest = args.isEmpty() || !args.get(0).equals("agent") ? args : args.subList(1, args.size());
        AgentMain.Options o = AgentMain.parse(rest);
        return new Parsed(o.inCluster(), o.routes(), o.statusAddresses(), o.publishNode());
    }
}
