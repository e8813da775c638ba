package io.sluice.nictuning;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Applies a plan, checks it (verify) and undoes it (revert).
 *
 * <p>Apply reads each setting first and writes only what differs, so running it again changes nothing. Before the
 * first write of a setting its original value goes into the state file. A channel-count change renumbers what the
 * device exposes, so after one the plan is made again from a fresh inspection and apply continues with it. Settings
 * the device cannot take are reported and skipped; a permission error stops the run.
 */
final class Applier {
    /** What happened to one setting. */
    enum Outcome {
        /** Already as planned (apply, verify) or already at its original value (revert). */
        OK,
        /** Written. */
        CHANGED,
        /** Dry run: would be written. Verify: drift. */
        DIFFERS,
        /** The host cannot read or change it. */
        UNSUPPORTED,
        /** Writing failed, or the value did not stick. */
        FAILED
    }

    /** One line of a report. */
    record Line(Outcome outcome, Setting setting, String before, String after, String detail) {
    }

    /** The result of a run. {@code permissionDenied}: the run stopped at a write it had no permission for. */
    record Report(List<Line> lines, boolean permissionDenied) {
        long count(Outcome o) {
            return lines.stream().filter(l -> l.outcome() == o).count();
        }
    }

    /** Makes the plan again after the NIC changed shape. */
    @FunctionalInterface
    interface Replanner {
        Planner.Plan replan() throws Planner.PlanException;
    }

    private final Setting.Host host;

    Applier(Setting.Host host) {
        this.host = Objects.requireNonNull(host, "host");
    }

    Report apply(Planner.Plan plan, StateFile state, boolean dryRun, Replanner replanner)
            throws IOException, Planner.PlanException {
        List<Line> lines = new ArrayList<>();
        Set<String> done = new HashSet<>();
        List<Setting> settings = plan.settings();
        boolean restart = true;
        while (restart) {
            restart = false;
            for (Setting s : settings) {
                if (!done.add(s.key())) {
                    continue;
                }
                Setting.Reading r = s.read(host);
                if (r.value() != null && s.satisfied(r.value())) {
                    lines.add(new Line(Outcome.OK, s, r.value(), r.value(), ""));
                    continue;
                }
                if (r.unsupported() != null) {
                    lines.add(new Line(Outcome.UNSUPPORTED, s, r.value(), null, r.unsupported()));
                    continue;
                }
                String target = s.target(r.value());
                if (dryRun) {
                    lines.add(new Line(Outcome.DIFFERS, s, r.value(), target, ""));
                    continue;
                }
                boolean recorded = false;
                if (state.get(s.key()) == null) {
                    state.put(new StateFile.Entry(s, r.restoreValue(), target));
                    state.save();
                    recorded = true;
                }
                try {
                    s.write(host, target);
                } catch (Setting.SettingException e) {
                    if (recorded) {
                        state.remove(s.key());
                        state.save();
                    }
                    switch (e.kind()) {
                        case UNSUPPORTED -> lines.add(new Line(Outcome.UNSUPPORTED, s, r.value(), null,
                                e.getMessage()));
                        case PERMISSION -> {
                            lines.add(new Line(Outcome.FAILED, s, r.value(), null, e.getMessage()));
                            return new Report(lines, true);
                        }
                        case FAILED -> lines.add(new Line(Outcome.FAILED, s, r.value(), null, e.getMessage()));
                    }
                    continue;
                }
                Setting.Reading after = s.read(host);
                if (after.value() != null && s.satisfied(after.value())) {
                    lines.add(new Line(Outcome.CHANGED, s, r.value(), after.value(), ""));
                } else {
                    lines.add(new Line(Outcome.FAILED, s, r.value(), after.value(),
                            "wrote " + target + " but it reads back as " + after.value()));
                }
                if (s instanceof Setting.EthtoolSetting e && e.group() == Setting.EthtoolSetting.Group.CHANNELS) {
                    settings = replanner.replan().settings();
                    restart = true;
                    break;
                }
            }
        }
        return new Report(lines, false);
    }

    /** Compares the host with the plan; {@link Outcome#DIFFERS} lines are drift. */
    Report verify(Planner.Plan plan) {
        List<Line> lines = new ArrayList<>();
        for (Setting s : plan.settings()) {
            Setting.Reading r = s.read(host);
            if (r.value() != null && s.satisfied(r.value())) {
                lines.add(new Line(Outcome.OK, s, r.value(), s.desired(), ""));
            } else if (r.unsupported() != null) {
                lines.add(new Line(Outcome.UNSUPPORTED, s, r.value(), s.desired(), r.unsupported()));
            } else {
                lines.add(new Line(Outcome.DIFFERS, s, r.value(), s.desired(), "drift"));
            }
        }
        return new Report(lines, false);
    }

    /** Restores every recorded original, newest change first. */
    Report revert(StateFile state, boolean dryRun) throws IOException {
        List<Line> lines = new ArrayList<>();
        List<StateFile.Entry> entries = new ArrayList<>(state.entries());
        for (int i = entries.size() - 1; i >= 0; i--) {
            StateFile.Entry e = entries.get(i);
            Setting s = e.setting();
            Setting.Reading r = s.read(host);
            if (r.value() != null && s.same(r.value(), e.original())) {
                lines.add(new Line(Outcome.OK, s, r.value(), e.original(), "already at the original value"));
                if (!dryRun) {
                    state.remove(s.key());
                    state.save();
                }
                continue;
            }
            if (dryRun) {
                lines.add(new Line(Outcome.DIFFERS, s, r.value(), e.original(), ""));
                continue;
            }
            try {
                s.write(host, e.original());
            } catch (Setting.SettingException ex) {
                switch (ex.kind()) {
                    case UNSUPPORTED -> {
                        // E.g. the queue it belonged to no longer exists: nothing left to restore.
                        lines.add(new Line(Outcome.UNSUPPORTED, s, r.value(), e.original(), ex.getMessage()
                                + "; dropped from the state file"));
                        state.remove(s.key());
                        state.save();
                    }
                    case PERMISSION -> {
                        lines.add(new Line(Outcome.FAILED, s, r.value(), e.original(), ex.getMessage()));
                        return new Report(lines, true);
                    }
                    case FAILED -> lines.add(new Line(Outcome.FAILED, s, r.value(), e.original(), ex.getMessage()
                            + "; kept in the state file"));
                }
                continue;
            }
            Setting.Reading after = s.read(host);
            lines.add(new Line(Outcome.CHANGED, s, r.value(), after.value() != null ? after.value() : e.original(),
                    ""));
            state.remove(s.key());
            state.save();
        }
        return new Report(lines, false);
    }
}
