package io.sluice.nictuning;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code sluice nic-tuning inspect | plan | apply | verify | revert}: see {@link #USAGE}.
 *
 * <p>Exit codes: 0 success; 1 error (a setting failed, bad input); 2 usage; 3 verify found drift; 4 permission
 * denied.
 */
public final class NicTuningMain {
    static final int OK = 0;
    static final int ERROR = 1;
    static final int USAGE_ERROR = 2;
    static final int DRIFT = 3;
    static final int PERMISSION = 4;

    static final String USAGE = """
            usage: sluice nic-tuning <verb> [options]

            verbs:
              inspect   show NICs (driver, NUMA node, channels, queue IRQs, RSS, rings, coalescing,
                        offloads), CPU topology, isolated CPUs, irqbalance and the relevant sysctls
              plan      show the shard/CPU/queue layout and every setting it needs; writes the core map
              apply     dry run by default: print what would change; with --yes, change it, record the
                        original values in the state file and write the core map
              verify    report drift between the plan and the host (exit 3 if any)
              revert    restore the values recorded by apply (dry run unless --yes); removes the core map

            options:
              --nic NAME              interface to plan for (default: the only NIC backed by a device)
              --smt                   one shard per logical CPU instead of per physical core
              --cpus LIST             place shards on these CPUs (e.g. 2-7,10) instead of the NIC's NUMA node
              --shards N              at most N shards
              --allow-unknown-driver  plan for a driver without a profile (no ring/coalescing changes)
              --no-sysctls            leave sysctls alone
              --busy-poll USEC        net.core.busy_poll/busy_read value (default 50; 0 leaves them alone)
              --coremap FILE          core map path (default <root>/etc/sluice/coremap.json)
              --no-coremap            do not write (or check) the core map
              --state FILE            state file (default <root>/var/lib/sluice/nic-tuning-state.json)
              --yes                   apply/revert: make the changes (default: dry run)
              --json                  machine-readable output (inspect, plan, verify)
              --root DIR              read and write sysfs/procfs under DIR instead of / (fixtures, tests)
              --ethtool-fixtures DIR  answer ethtool queries from captured output in DIR/<nic>/<letter>.txt

            apply --yes and revert --yes on a real host need root (CAP_NET_ADMIN for ethtool and queue
            masks, CAP_SYS_ADMIN for IRQ affinity and sysctls). inspect, plan and verify do not, except
            that plan writes the core map (use --coremap FILE or --no-coremap as an ordinary user).

            exit codes: 0 ok, 1 error, 2 usage, 3 drift (verify), 4 permission denied
            """;

    private final PrintStream out;
    private final PrintStream err;

    NicTuningMain(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(new NicTuningMain(System.out, System.err).run(args));
    }

    /** Parsed command line. */
    static final class Args {
        String verb;
        Path root = Path.of("/");
        Path ethtoolFixtures;
        String nic;
        boolean smt;
        BitSet cpus;
        int shards;
        boolean allowUnknownDriver;
        boolean sysctls = true;
        int busyPoll = 50;
        Path coremap;
        boolean noCoremap;
        Path state;
        boolean yes;
        boolean json;

        Planner.Options planOptions() {
            return new Planner.Options(nic, smt, cpus, shards, allowUnknownDriver, sysctls, busyPoll);
        }
    }

    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static Args parse(String[] argv) throws UsageException {
        Args a = new Args();
        for (int i = 0; i < argv.length; i++) {
            String arg = argv[i];
            switch (arg) {
                case "--nic" -> a.nic = value(argv, ++i, arg);
                case "--smt" -> a.smt = true;
                case "--cpus" -> {
                    try {
                        a.cpus = CpuList.parseList(value(argv, ++i, arg));
                    } catch (IllegalArgumentException e) {
                        throw new UsageException(e.getMessage());
                    }
                    if (a.cpus.isEmpty()) {
                        throw new UsageException("--cpus needs at least one CPU");
                    }
                }
                case "--shards" -> a.shards = positive(value(argv, ++i, arg), arg, 1);
                case "--allow-unknown-driver" -> a.allowUnknownDriver = true;
                case "--no-sysctls" -> a.sysctls = false;
                case "--busy-poll" -> a.busyPoll = positive(value(argv, ++i, arg), arg, 0);
                case "--coremap" -> a.coremap = Path.of(value(argv, ++i, arg));
                case "--no-coremap" -> a.noCoremap = true;
                case "--state" -> a.state = Path.of(value(argv, ++i, arg));
                case "--yes", "-y" -> a.yes = true;
                case "--json" -> a.json = true;
                case "--root" -> a.root = Path.of(value(argv, ++i, arg));
                case "--ethtool-fixtures" -> a.ethtoolFixtures = Path.of(value(argv, ++i, arg));
                case "-h", "--help", "help" -> a.verb = "help";
                default -> {
                    if (arg.startsWith("-")) {
                        throw new UsageException("unknown option " + arg);
                    }
                    if (a.verb != null) {
                        throw new UsageException("unexpected argument " + arg);
                    }
                    a.verb = arg;
                }
            }
        }
        if (a.verb == null) {
            throw new UsageException("no verb given");
        }
        return a;
    }

    private static String value(String[] argv, int i, String option) throws UsageException {
        if (i >= argv.length) {
            throw new UsageException(option + " needs a value");
        }
        return argv[i];
    }

    private static int positive(String text, String option, int min) throws UsageException {
        try {
            int v = Integer.parseInt(text);
            if (v < min) {
                throw new UsageException(option + " must be at least " + min);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new UsageException(option + " needs a number, got " + text);
        }
    }

    int run(String[] argv) {
        Args a;
        try {
            a = parse(argv);
        } catch (UsageException e) {
            err.println("nic-tuning: " + e.getMessage());
            err.print(USAGE);
            return USAGE_ERROR;
        }
        if (a.verb.equals("help")) {
            out.print(USAGE);
            return OK;
        }
        HostFs fs = new HostFs(a.root);
        Ethtool ethtool = a.ethtoolFixtures != null ? new FixtureEthtool(a.ethtoolFixtures) : Ethtool.system();
        Setting.Host host = new Setting.Host(fs, ethtool);
        Path coremapPath = a.coremap != null ? a.coremap : fs.resolve(CoreMap.DEFAULT_PATH);
        Path statePath = a.state != null ? a.state : fs.resolve(StateFile.DEFAULT_PATH);
        try {
            return switch (a.verb) {
                case "inspect" -> inspect(a, host);
                case "plan" -> plan(a, host, coremapPath);
                case "apply" -> apply(a, host, coremapPath, statePath);
                case "verify" -> verify(a, host, coremapPath);
                case "revert" -> revert(a, host, coremapPath, statePath);
                default -> {
                    err.println("nic-tuning: unknown verb " + a.verb);
                    err.print(USAGE);
                    yield USAGE_ERROR;
                }
            };
        } catch (Planner.PlanException e) {
            err.println("nic-tuning: " + e.getMessage());
            return ERROR;
        } catch (IOException e) {
            err.println("nic-tuning: " + e.getMessage());
            return HostFs.isPermissionProblem(e) ? PERMISSION : ERROR;
        }
    }

    // ---------------------------------------------------------------- inspect

    private int inspect(Args a, Setting.Host host) {
        Inspector.Inventory inv = new Inspector(host.fs(), host.ethtool()).inspect(a.nic);
        if (a.nic != null && inv.nics().isEmpty()) {
            err.println("nic-tuning: no interface named " + a.nic);
            return ERROR;
        }
        if (a.json) {
            out.print(Json.write(inventoryJson(inv)));
            return OK;
        }
        CpuTopology t = inv.topology();
        out.printf("CPUs: %d online (%s), %d package(s), %d physical core(s), SMT %s%n", t.cpus().size(),
                CpuList.formatList(t.online()), t.packages(), t.physicalCores(), t.smt() ? "on" : "off");
        for (int node : t.nodes()) {
            out.printf("  node %d: CPUs %s%n", node, CpuList.formatList(t.cpusOfNode(node)));
        }
        out.printf("  isolated: %s%n", t.isolated().isEmpty() ? "none" : CpuList.formatList(t.isolated()));
        out.printf("irqbalance: %s%n", inv.irqbalanceRunning() ? "running" : "not running");
        for (NicInfo n : inv.nics()) {
            out.println();
            out.printf("NIC %s%n", n.name());
            out.printf("  driver      %s%s%n", n.driver(), n.busInfo().isEmpty() ? "" : "  (bus " + n.busInfo() + ")");
            out.printf("  NUMA node   %d%n", n.numaNode());
            out.printf("  queues      rx %d, tx %d%n", n.rxQueues(), n.txQueues());
            if (n.channels() != null) {
                out.printf("  channels    %s%n", describeChannels(n.channels()));
            }
            if (n.rings() != null) {
                EthtoolParser.Rings r = n.rings();
                out.printf("  rings       rx %s of max %s, tx %s of max %s%n", na(r.rx()), na(r.maxRx()), na(r.tx()),
                        na(r.maxTx()));
            }
            if (!n.coalesce().isEmpty()) {
                out.printf("  coalescing  %s%n", n.coalesce().entrySet().stream()
                        .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", ")));
            }
            if (n.rss() != null) {
                EthtoolParser.Rss r = n.rss();
                BitSet queues = new BitSet();
                for (int q : r.table()) {
                    queues.set(q);
                }
                out.printf("  RSS         %s, key %s (%d bytes), indirection %d entries over queues %s%n",
                        r.function().isEmpty() ? "function not shown" : r.function(),
                        r.key().length == 0 ? "not shown" : HexFormat.of().formatHex(r.key()), r.key().length,
                        r.table().length, CpuList.formatList(queues));
            }
            if (!n.features().isEmpty()) {
                List<String> f = new ArrayList<>();
                for (String s : new String[] {"gro", "lro", "tso", "gso", "rxhash", "ntuple"}) {
                    EthtoolParser.Feature feature = n.features().get(EthtoolParser.featureLongName(s));
                    if (feature != null) {
                        f.add(s + " " + (feature.on() ? "on" : "off") + (feature.fixed() ? " [fixed]" : ""));
                    }
                }
                out.printf("  offloads    %s%n", String.join(", ", f));
            }
            String label = "  queue IRQs  ";
            for (NicInfo.QueueIrq q : n.irqs()) {
                out.printf("%squeue %d: IRQ %d %s -> CPUs %s%n", label, q.queue(), q.irq(), q.name(), q.affinity());
                label = "              ";
            }
            label = "  other IRQs  ";
            for (NicInfo.QueueIrq q : n.otherIrqs()) {
                out.printf("%sIRQ %d %s -> CPUs %s%n", label, q.irq(), q.name(), q.affinity());
                label = "              ";
            }
            label = "  notes       ";
            for (String note : n.notes()) {
                out.printf("%s%s%n", label, note);
                label = "              ";
            }
        }
        out.println();
        out.println("sysctls");
        inv.sysctls().forEach((k, v) -> out.printf("  %s = %s%n", k, v));
        return OK;
    }

    private static String describeChannels(EthtoolParser.Channels c) {
        if (c.usesCombined()) {
            return "combined " + na(c.combined()) + " of max " + na(c.maxCombined())
                    + (c.maxRx() > 0 ? ", rx " + na(c.rx()) + " of max " + na(c.maxRx()) : "")
                    + (c.maxOther() > 0 ? ", other " + na(c.other()) : "");
        }
        return "rx " + na(c.rx()) + " of max " + na(c.maxRx()) + ", tx " + na(c.tx()) + " of max " + na(c.maxTx());
    }

    private static String na(int v) {
        return v < 0 ? "n/a" : Integer.toString(v);
    }

    static Map<String, Object> inventoryJson(Inspector.Inventory inv) {
        Map<String, Object> root = new LinkedHashMap<>();
        CpuTopology t = inv.topology();
        Map<String, Object> cpus = new LinkedHashMap<>();
        cpus.put("online", CpuList.formatList(t.online()));
        cpus.put("packages", t.packages());
        cpus.put("physicalCores", t.physicalCores());
        cpus.put("smt", t.smt());
        cpus.put("isolated", CpuList.formatList(t.isolated()));
        Map<String, Object> nodes = new LinkedHashMap<>();
        for (int node : t.nodes()) {
            nodes.put(Integer.toString(node), CpuList.formatList(t.cpusOfNode(node)));
        }
        cpus.put("nodes", nodes);
        List<Object> list = new ArrayList<>();
        for (CpuTopology.Cpu c : t.cpus()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("cpu", c.id());
            m.put("package", c.packageId());
            m.put("core", c.coreId());
            m.put("node", c.node());
            m.put("siblings", CpuList.formatList(c.siblings()));
            list.add(m);
        }
        cpus.put("cpus", list);
        root.put("cpus", cpus);
        root.put("irqbalanceRunning", inv.irqbalanceRunning());
        List<Object> nics = new ArrayList<>();
        for (NicInfo n : inv.nics()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", n.name());
            m.put("driver", n.driver());
            m.put("busInfo", n.busInfo());
            m.put("numaNode", n.numaNode());
            m.put("rxQueues", n.rxQueues());
            m.put("txQueues", n.txQueues());
            if (n.channels() != null) {
                EthtoolParser.Channels c = n.channels();
                Map<String, Object> ch = new LinkedHashMap<>();
                ch.put("maxRx", c.maxRx());
                ch.put("maxTx", c.maxTx());
                ch.put("maxOther", c.maxOther());
                ch.put("maxCombined", c.maxCombined());
                ch.put("rx", c.rx());
                ch.put("tx", c.tx());
                ch.put("other", c.other());
                ch.put("combined", c.combined());
                m.put("channels", ch);
            } else {
                m.put("channels", null);
            }
            if (n.rings() != null) {
                EthtoolParser.Rings r = n.rings();
                Map<String, Object> rings = new LinkedHashMap<>();
                rings.put("maxRx", r.maxRx());
                rings.put("maxTx", r.maxTx());
                rings.put("rx", r.rx());
                rings.put("tx", r.tx());
                m.put("rings", rings);
            } else {
                m.put("rings", null);
            }
            m.put("coalesce", new LinkedHashMap<>(n.coalesce()));
            if (n.rss() != null) {
                Map<String, Object> rss = new LinkedHashMap<>();
                rss.put("function", n.rss().function());
                rss.put("key", HexFormat.of().formatHex(n.rss().key()));
                rss.put("indirection", n.rss().table());
                m.put("rss", rss);
            } else {
                m.put("rss", null);
            }
            Map<String, Object> features = new LinkedHashMap<>();
            n.features().forEach((k, v) -> features.put(k, (v.on() ? "on" : "off") + (v.fixed() ? " [fixed]" : "")));
            m.put("features", features);
            m.put("queueIrqs", irqsJson(n.irqs()));
            m.put("otherIrqs", irqsJson(n.otherIrqs()));
            m.put("notes", new ArrayList<Object>(n.notes()));
            nics.add(m);
        }
        root.put("nics", nics);
        root.put("sysctls", new LinkedHashMap<String, Object>(inv.sysctls()));
        return root;
    }

    private static List<Object> irqsJson(List<NicInfo.QueueIrq> irqs) {
        List<Object> list = new ArrayList<>();
        for (NicInfo.QueueIrq q : irqs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("queue", q.queue());
            m.put("irq", q.irq());
            m.put("name", q.name());
            m.put("affinity", q.affinity());
            list.add(m);
        }
        return list;
    }

    // ---------------------------------------------------------------- plan

    private Planner.Plan makePlan(Args a, Setting.Host host) throws Planner.PlanException {
        Inspector.Inventory inv = new Inspector(host.fs(), host.ethtool()).inspect(a.nic);
        return Planner.plan(inv, a.planOptions());
    }

    private int plan(Args a, Setting.Host host, Path coremapPath) throws Planner.PlanException {
        Planner.Plan plan = makePlan(a, host);
        String written = null;
        String writeError = null;
        if (!a.noCoremap) {
            try {
                plan.coreMap().write(coremapPath);
                written = coremapPath.toString();
            } catch (IOException e) {
                writeError = "cannot write the core map to " + coremapPath + ": " + e.getMessage()
                        + (HostFs.isPermissionProblem(e)
                        ? " (run as root, or pass --coremap FILE / --no-coremap)" : "");
            }
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Setting s : plan.settings()) {
            Setting.Reading r = s.read(host);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("key", s.key());
            row.put("label", s.label());
            row.put("current", r.value());
            row.put("planned", s.desired());
            row.put("status", r.value() != null && s.satisfied(r.value()) ? "ok"
                    : r.unsupported() != null ? "unsupported" : "change");
            row.put("why", r.unsupported() != null && !s.satisfied(r.value()) ? r.unsupported() : s.why());
            rows.add(row);
        }
        if (a.json) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("nic", plan.nic().name());
            root.put("driver", plan.nic().driver());
            root.put("numaNode", plan.numaNode());
            root.put("steering", plan.coreMap().steering().name().toLowerCase(Locale.ROOT));
            root.put("profile", plan.profile().note());
            List<Object> shards = new ArrayList<>();
            for (CoreMap.Shard s : plan.coreMap().shards()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("shard", s.shard());
                m.put("cpu", s.cpu());
                m.put("queue", s.queue());
                m.put("irqs", plan.nic().irqsOf(s.queue()).stream().map(NicInfo.QueueIrq::irq).toList());
                shards.add(m);
            }
            root.put("shards", shards);
            root.put("settings", new ArrayList<Object>(rows));
            root.put("warnings", new ArrayList<Object>(plan.warnings()));
            root.put("coremapPath", written);
            root.put("coremap", Json.parse(plan.coreMap().toJson()));
            out.print(Json.write(root));
        } else {
            CoreMap cm = plan.coreMap();
            out.printf("Plan for %s (%s, NUMA node %d): %d shard(s), steering %s%n", plan.nic().name(),
                    plan.nic().driver(), plan.nic().numaNode(), cm.shardCount(),
                    cm.steering().name().toLowerCase(Locale.ROOT));
            out.printf("  %s%n%n", plan.profile().note());
            List<String[]> table = new ArrayList<>();
            table.add(new String[] {"SHARD", "CPU", "QUEUE", "IRQS"});
            for (CoreMap.Shard s : cm.shards()) {
                String irqs = plan.nic().irqsOf(s.queue()).stream().map(q -> Integer.toString(q.irq()))
                        .collect(Collectors.joining(","));
                table.add(new String[] {Integer.toString(s.shard()), Integer.toString(s.cpu()),
                    Integer.toString(s.queue()), irqs.isEmpty() ? "-" : irqs});
            }
            printTable(table);
            out.println();
            table.clear();
            table.add(new String[] {"SETTING", "CURRENT", "PLANNED", "STATUS", "WHY"});
            for (Map<String, Object> row : rows) {
                table.add(new String[] {(String) row.get("label"), shorten((String) row.get("current")),
                    shorten((String) row.get("planned")), (String) row.get("status"), (String) row.get("why")});
            }
            printTable(table);
            if (!plan.warnings().isEmpty()) {
                out.println();
                out.println("Warnings:");
                plan.warnings().forEach(w -> out.println("  ! " + w));
            }
            out.println();
            if (written != null) {
                out.println("Core map written to " + written);
            }
        }
        if (writeError != null) {
            err.println("nic-tuning: " + writeError);
            return writeError.contains("run as root") ? PERMISSION : ERROR;
        }
        return OK;
    }

    private static String shorten(String s) {
        if (s == null) {
            return "-";
        }
        return s.length() > 24 ? s.substring(0, 21) + "..." : s;
    }

    private void printTable(List<String[]> rows) {
        int cols = rows.get(0).length;
        int[] width = new int[cols];
        for (String[] r : rows) {
            for (int c = 0; c < cols; c++) {
                width[c] = Math.max(width[c], r[c].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder sb = new StringBuilder();
            for (int c = 0; c < cols; c++) {
                sb.append(c == cols - 1 ? r[c] : String.format("%-" + (width[c] + 2) + "s", r[c]));
            }
            out.println(sb.toString().stripTrailing());
        }
    }

    // ---------------------------------------------------------------- apply, verify, revert

    private boolean notRootOnRealHost(Setting.Host host) {
        if (!host.fs().isRealRoot()) {
            return false;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    String[] f = line.substring(4).trim().split("\\s+");
                    return f.length > 1 && !f[1].equals("0");
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private int apply(Args a, Setting.Host host, Path coremapPath, Path statePath)
            throws Planner.PlanException, IOException {
        if (a.yes && notRootOnRealHost(host)) {
            err.println("nic-tuning: apply --yes changes IRQ affinity, queue masks, sysctls and NIC settings:"
                    + " run it as root (it needs CAP_NET_ADMIN and CAP_SYS_ADMIN)");
            return PERMISSION;
        }
        Planner.Plan plan = makePlan(a, host);
        StateFile state = StateFile.load(statePath);
        Applier applier = new Applier(host);
        Applier.Report report = applier.apply(plan, state, !a.yes, () -> makePlan(a, host));
        printReport(report, (a.yes ? "apply " : "apply (dry run) ") + plan.nic().name());
        plan.warnings().forEach(w -> out.println("  ! " + w));
        if (report.permissionDenied()) {
            err.println("nic-tuning: permission denied; stopped. Changes made so far are recorded in " + statePath
                    + " (revert --yes restores them)");
            return PERMISSION;
        }
        if (!a.yes) {
            out.printf("%d to change, %d already as planned, %d unsupported. Dry run: pass --yes to apply.%n",
                    report.count(Applier.Outcome.DIFFERS), report.count(Applier.Outcome.OK),
                    report.count(Applier.Outcome.UNSUPPORTED));
            return OK;
        }
        if (!a.noCoremap) {
            Planner.Plan finalPlan = makePlan(a, host);
            finalPlan.coreMap().write(coremapPath);
        }
        out.printf("%d changed, %d already as planned, %d unsupported, %d failed.%n",
                report.count(Applier.Outcome.CHANGED), report.count(Applier.Outcome.OK),
                report.count(Applier.Outcome.UNSUPPORTED), report.count(Applier.Outcome.FAILED));
        out.println(state.isEmpty() ? "Nothing recorded: no original value was changed."
                : "Original values recorded in " + statePath + " (revert --yes restores them).");
        if (!a.noCoremap) {
            out.println("Core map written to " + coremapPath);
        }
        return report.count(Applier.Outcome.FAILED) > 0 ? ERROR : OK;
    }

    private int verify(Args a, Setting.Host host, Path coremapPath) throws Planner.PlanException {
        Planner.Plan plan = makePlan(a, host);
        Applier.Report report = new Applier(host).verify(plan);
        String coremapProblem = null;
        if (!a.noCoremap) {
            try {
                CoreMap onDisk = CoreMap.read(coremapPath);
                if (!onDisk.equals(plan.coreMap())) {
                    coremapProblem = "core map " + coremapPath + " differs from the plan";
                }
            } catch (java.nio.file.NoSuchFileException e) {
                coremapProblem = "core map " + coremapPath + " is missing";
            } catch (IOException e) {
                coremapProblem = "core map " + coremapPath + ": " + e.getMessage();
            }
        }
        long drift = report.count(Applier.Outcome.DIFFERS) + (coremapProblem != null ? 1 : 0);
        if (a.json) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("nic", plan.nic().name());
            root.put("drift", drift);
            List<Object> lines = new ArrayList<>();
            for (Applier.Line l : report.lines()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("key", l.setting().key());
                m.put("label", l.setting().label());
                m.put("status", l.outcome() == Applier.Outcome.DIFFERS ? "drift"
                        : l.outcome().name().toLowerCase(Locale.ROOT));
                m.put("current", l.before());
                m.put("planned", l.after());
                m.put("detail", l.detail());
                lines.add(m);
            }
            root.put("settings", lines);
            root.put("coremap", coremapProblem == null ? "ok" : coremapProblem);
            out.print(Json.write(root));
        } else {
            for (Applier.Line l : report.lines()) {
                if (l.outcome() == Applier.Outcome.DIFFERS) {
                    out.printf("  drift        %-40s %s, planned %s%n", l.setting().label(), l.before(), l.after());
                } else if (l.outcome() == Applier.Outcome.UNSUPPORTED) {
                    out.printf("  unsupported  %-40s %s%n", l.setting().label(), l.detail());
                }
            }
            if (coremapProblem != null) {
                out.println("  drift        " + coremapProblem);
            }
            out.printf("verify %s: %d as planned, %d drifted, %d unsupported%n", plan.nic().name(),
                    report.count(Applier.Outcome.OK), drift, report.count(Applier.Outcome.UNSUPPORTED));
        }
        return drift > 0 ? DRIFT : OK;
    }

    private int revert(Args a, Setting.Host host, Path coremapPath, Path statePath) throws IOException {
        if (a.yes && notRootOnRealHost(host)) {
            err.println("nic-tuning: revert --yes restores IRQ affinity, queue masks, sysctls and NIC settings:"
                    + " run it as root");
            return PERMISSION;
        }
        StateFile state = StateFile.load(statePath);
        if (state.isEmpty()) {
            out.println("Nothing to revert: no state file at " + statePath);
            return OK;
        }
        Applier.Report report = new Applier(host).revert(state, !a.yes);
        printReport(report, a.yes ? "revert" : "revert (dry run)");
        if (report.permissionDenied()) {
            err.println("nic-tuning: permission denied; stopped. What is left stays in " + statePath);
            return PERMISSION;
        }
        boolean removeCoremap = !a.noCoremap && Files.exists(coremapPath);
        if (!a.yes) {
            out.printf("%d to restore%s. Dry run: pass --yes to revert.%n", report.count(Applier.Outcome.DIFFERS),
                    removeCoremap ? " and core map " + coremapPath + " to remove" : "");
            return OK;
        }
        if (removeCoremap) {
            Files.delete(coremapPath);
        }
        out.printf("%d restored, %d already original, %d failed.%s%n", report.count(Applier.Outcome.CHANGED),
                report.count(Applier.Outcome.OK), report.count(Applier.Outcome.FAILED),
                removeCoremap ? " Core map " + coremapPath + " removed." : "");
        if (!state.isEmpty()) {
            out.println("Not restored (kept in " + statePath + "): " + state.entries().size());
            return ERROR;
        }
        return report.count(Applier.Outcome.FAILED) > 0 ? ERROR : OK;
    }

    private void printReport(Applier.Report report, String title) {
        out.println(title + ":");
        for (Applier.Line l : report.lines()) {
            String word = switch (l.outcome()) {
                case OK -> "ok";
                case CHANGED -> "changed";
                case DIFFERS -> "change";
                case UNSUPPORTED -> "unsupported";
                case FAILED -> "FAILED";
            };
            String what = switch (l.outcome()) {
                case OK -> l.before() + (l.detail().isEmpty() ? "" : " (" + l.detail() + ")");
                case CHANGED, DIFFERS -> l.before() + " -> " + l.after();
                case UNSUPPORTED, FAILED -> l.detail();
            };
            out.printf("  %-12s %-42s %s%n", word, l.setting().label(), what);
        }
    }
}
