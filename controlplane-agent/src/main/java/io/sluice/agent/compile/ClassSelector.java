package io.sluice.agent.compile;

import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressClass;
import java.util.List;
import java.util.Map;

/**
 * Decides which Ingresses are ours, as the Kubernetes documentation describes it:
 * <ol>
 *   <li>the legacy annotation {@code kubernetes.io/ingress.class}, when present (controllers are asked to keep
 *       honouring it): ours if its value is one of our legacy class names or names an IngressClass whose
 *       {@code spec.controller} is ours;</li>
 *   <li>else {@code spec.ingressClassName}: ours if it names an IngressClass whose controller is ours;</li>
 *   <li>else (no class at all): ours if an IngressClass of ours is marked
 *       {@code ingressclass.kubernetes.io/is-default-class: "true"}, or if the agent was told to watch Ingresses
 *       without class.</li>
 * </ol>
 * An Ingress with both the annotation and the field is refused by the API server; from a manifests directory it is
 * reported and the annotation decides.
 */
final class ClassSelector {
    private final ClusterView view;
    private final IngressCompiler.Options options;
    private final boolean ourDefault;

    ClassSelector(ClusterView view, IngressCompiler.Options options) {
        this.view = view;
        this.options = options;
        boolean def = false;
        for (IngressClass c : view.ingressClasses()) {
            if (isOurs(c) && isDefault(c)) {
                def = true;
                break;
            }
        }
        this.ourDefault = def;
    }

    private boolean isOurs(IngressClass c) {
        return c != null && c.getSpec() != null && options.controllerName().equals(c.getSpec().getController());
    }

    private static boolean isDefault(IngressClass c) {
        Map<String, String> ann = c.getMetadata().getAnnotations();
        return ann != null && "true".equalsIgnoreCase(ann.get(IngressCompiler.DEFAULT_CLASS_ANNOTATION));
    }

    boolean claims(Ingress ing, ObjectRef ref, List<Problem> problems) {
        Map<String, String> ann = ing.getMetadata().getAnnotations();
        String legacy = ann == null ? null : ann.get(IngressCompiler.LEGACY_CLASS_ANNOTATION);
        String className = ing.getSpec() == null ? null : ing.getSpec().getIngressClassName();
        if (className != null && className.isEmpty()) {
            className = null;
        }
        if (legacy != null) {
            boolean ours = options.legacyClassNames().contains(legacy) || isOurs(view.ingressClass(legacy));
            if (ours && className != null) {
                problems.add(new Problem(ref, Reasons.INVALID_CLASS, "sets both spec.ingressClassName ('" + className
                    + "') and the annotation " + IngressCompiler.LEGACY_CLASS_ANNOTATION + " ('" + legacy
                    + "'), which the API server refuses; the annotation decides"));
            }
            return ours;
        }
        if (className != null) {
            return isOurs(view.ingressClass(className));
        }
        return ourDefault || options.watchIngressWithoutClass();
    }
}
