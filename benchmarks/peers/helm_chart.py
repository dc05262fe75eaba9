"""A Helm chart that renders the same Kubernetes objects as `modelctl render` for a graph.

The chart is written the way charts usually are: per-deployment values (name, image, replicas,
autoscale, env, volumes, …) and templates that range over them, with labels and metadata from
`define`d helpers (`include … | nindent`). The values come from modelctl's own objects (so the two
outputs parse to the same objects, which `same_objects` checks); the structure — what is fixed, what
is computed, what comes from values — lives in the templates.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from compiler.graph import DeploymentNode, EndpointNode, Graph
from compiler.render import kubernetes as k8s

HELPERS = """\
{{- define "bench.labels" -}}
{{- range $k, $v := .d.labels }}
{{ $k }}: {{ $v | quote }}
{{- end }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/instance: {{ .d.name }}
app.kubernetes.io/managed-by: modelctl
app.kubernetes.io/name: {{ .app }}
app.kubernetes.io/part-of: {{ .ws }}
{{- if .d.version }}
app.kubernetes.io/version: {{ .d.version | quote }}
{{- end }}
modelctl.io/kind: {{ .kind }}
modelctl.io/name: {{ .d.name }}
modelctl.io/target: {{ .target }}
modelctl.io/workspace: {{ .ws }}
{{- end }}

{{- define "bench.annotations" -}}
modelctl.io/fingerprint: {{ .d.fingerprint | quote }}
modelctl.io/resource: {{ .kind }}/{{ .d.name }}
{{- end }}

{{- define "bench.meta" -}}
name: {{ .d.name }}
namespace: {{ .ns }}
labels:
  {{- include "bench.labels" . | nindent 2 }}
annotations:
  {{- include "bench.annotations" . | nindent 2 }}
{{- end }}

{{- define "bench.probe" -}}
httpGet:
  path: {{ .path }}
  port: http
  scheme: HTTP
initialDelaySeconds: {{ .p.initialDelaySeconds }}
periodSeconds: {{ .p.periodSeconds }}
timeoutSeconds: {{ .p.timeoutSeconds }}
failureThreshold: {{ .p.failureThreshold }}
{{- end }}

{{- define "bench.selector" -}}
app.kubernetes.io/instance: {{ .d.name }}
modelctl.io/kind: Deployment
{{- end }}
"""

DEPLOYMENTS = """\
{{- range $d := .Values.deployments }}
{{- $c := dict "d" $d "ns" $.Values.namespace "ws" $.Values.workspace "target" $.Values.target "kind" "Deployment" "component" "scorer" "app" $d.app }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "bench.meta" $c | nindent 2 }}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata:
  {{- include "bench.meta" $c | nindent 2 }}
spec:
  {{- if not $d.autoscale }}
  replicas: {{ $d.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "bench.selector" $c | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "bench.labels" $c | nindent 8 }}
      annotations:
        {{- include "bench.annotations" $c | nindent 8 }}
    spec:
      serviceAccountName: {{ $d.name }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ add $d.timeoutSeconds 10 }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      containers:
      - name: scorer
        image: {{ $d.image | quote }}
        imagePullPolicy: IfNotPresent
        ports:
        - name: http
          containerPort: {{ $d.port }}
          protocol: TCP
        env:
        {{- range $k, $v := $d.env }}
        - name: {{ $k }}
          value: {{ $v | quote }}
        {{- end }}
        resources:
          requests:
            cpu: {{ $d.cpu | quote }}
            memory: {{ $d.memory | quote }}
          limits:
            memory: {{ $d.memory | quote }}
        readinessProbe:
          {{- include "bench.probe" (dict "p" $d.readiness "path" "/v2/health/ready") | nindent 10 }}
        livenessProbe:
          {{- include "bench.probe" (dict "p" $d.liveness "path" "/v2/health/live") | nindent 10 }}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          privileged: false
          capabilities:
            drop:
            - ALL
        volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if $d.collectDir }}
        - name: collected
          mountPath: {{ $d.collectDir }}
        {{- end }}
        {{- if $d.authSecret }}
        - name: auth
          mountPath: /var/run/secrets/modelctl/auth
          readOnly: true
        {{- end }}
      volumes:
      - name: tmp
        emptyDir:
          sizeLimit: 256Mi
      {{- if $d.collectDir }}
      - name: collected
        emptyDir: {}
      {{- end }}
      {{- if $d.authSecret }}
      - name: auth
        secret:
          secretName: {{ $d.authSecret }}
          defaultMode: 0440
          items:
          {{- range $d.authKeys }}
          - key: {{ . }}
            path: {{ . }}
          {{- end }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  {{- include "bench.meta" $c | nindent 2 }}
spec:
  type: ClusterIP
  selector:
    {{- include "bench.selector" $c | nindent 4 }}
  ports:
  - name: http
    port: 80
    targetPort: http
    protocol: TCP
{{- if $d.autoscale }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  {{- include "bench.meta" $c | nindent 2 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $d.name }}
  minReplicas: {{ $d.autoscale.min }}
  maxReplicas: {{ $d.autoscale.max }}
  metrics:
  - type: Resource
    resource:
      name: cpu
      target:
        type: Utilization
        averageUtilization: {{ $d.autoscale.utilization }}
{{- end }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "bench.meta" $c | nindent 2 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "bench.selector" $c | nindent 6 }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  {{- include "bench.meta" $c | nindent 2 }}
spec:
  podSelector:
    matchLabels:
      {{- include "bench.selector" $c | nindent 6 }}
  policyTypes:
  - Ingress
  ingress:
  - ports:
    - port: {{ $d.port }}
      protocol: TCP
{{- end }}
"""

ENDPOINTS = """\
{{- range $e := .Values.endpoints }}
{{- $c := dict "d" $e "ns" $.Values.namespace "ws" $.Values.workspace "target" $.Values.target "kind" "Endpoint" "component" "endpoint" "app" $e.name }}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  {{- include "bench.meta" $c | nindent 2 }}
spec:
  parentRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: {{ $.Values.gateway.name }}
    namespace: {{ $.Values.gateway.namespace }}
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: {{ $e.path }}
    backendRefs:
    {{- range $name, $weight := $e.traffic }}
    - group: ""
      kind: Service
      name: {{ $name }}
      port: 80
      weight: {{ $weight }}
    {{- end }}
{{- end }}
"""


def chart_values(graph: Graph) -> dict:
    """Per-resource values, read off modelctl's objects for the graph (one kubernetes target)."""
    deployments, endpoints, target = [], [], None
    for node in graph:
        if isinstance(node, DeploymentNode) and node.target.type == "kubernetes":
            target = node.target
            objs = {o["kind"]: o for o in k8s.deployment_objects(graph, node)}
            labels = objs["Deployment"]["metadata"]["labels"]
            pod = objs["Deployment"]["spec"]["template"]["spec"]
            container = pod["containers"][0]
            hpa = objs.get("HorizontalPodAutoscaler")
            auth = next((v for v in pod["volumes"] if v["name"] == "auth"), None)
            deployments.append(
                {
                    "name": node.name,
                    "app": labels["app.kubernetes.io/name"],
                    "version": labels.get("app.kubernetes.io/version"),
                    "labels": dict(node.metadata.labels),
                    "fingerprint": node.fingerprint,
                    "image": container["image"],
                    "port": container["ports"][0]["containerPort"],
                    "replicas": node.spec.replicas,
                    "timeoutSeconds": node.spec.request_timeout_seconds,
                    "cpu": container["resources"]["requests"]["cpu"],
                    "memory": container["resources"]["requests"]["memory"],
                    "env": {e["name"]: e["value"] for e in container["env"]},
                    "readiness": _probe_values(container["readinessProbe"]),
                    "liveness": _probe_values(container["livenessProbe"]),
                    "collectDir": next(
                        (v["mountPath"] for v in container["volumeMounts"] if v["name"] == "collected"), None
                    ),
                    "authSecret": auth and auth["secret"]["secretName"],
                    "authKeys": auth and [i["key"] for i in auth["secret"]["items"]],
                    "autoscale": None
                    if hpa is None
                    else {
                        "min": hpa["spec"]["minReplicas"],
                        "max": hpa["spec"]["maxReplicas"],
                        "utilization": hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
                    },
                }
            )
        elif isinstance(node, EndpointNode) and node.target.type == "kubernetes":
            endpoints.append(
                {
                    "name": node.name,
                    "labels": dict(node.metadata.labels),
                    "fingerprint": node.fingerprint,
                    "path": node.spec.path,
                    "traffic": dict(node.spec.traffic),
                }
            )
    assert target is not None, "the chart needs kubernetes deployments"
    namespace, _, name = (target.gateway or "").rpartition("/")
    return {
        "workspace": graph.workspace.name,
        "namespace": target.namespace,
        "target": deployments and next(n.target_name for n in graph if isinstance(n, DeploymentNode)),
        "gateway": {"namespace": namespace, "name": name},
        "deployments": deployments,
        "endpoints": endpoints,
    }


def _probe_values(probe: dict) -> dict:
    if "httpGet" not in probe:
        raise ValueError("the bench chart writes HTTP probes only (mTLS deployments probe with exec)")
    return {k: v for k, v in probe.items() if k != "httpGet"}


def write_chart(graph: Graph, dest: Path) -> Path:
    (dest / "templates").mkdir(parents=True)
    (dest / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 0.1.0\ntype: application\n")
    # JSON is YAML; compact, so 5,000 deployments stay under Helm's 5 MiB limit per chart file.
    (dest / "values.yaml").write_text(json.dumps(chart_values(graph), separators=(",", ":")))
    (dest / "templates/_helpers.tpl").write_text(HELPERS)
    (dest / "templates/deployments.yaml").write_text(DEPLOYMENTS)
    (dest / "templates/endpoints.yaml").write_text(ENDPOINTS)
    return dest


def objects_in(folder: Path) -> list[dict]:
    """Every YAML document under folder, parsed (for comparing the two renders' objects)."""
    out = []
    for path in sorted(folder.rglob("*.yaml")):
        out.extend(d for d in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if d)
    return out


def same_objects(a: list[dict], b: list[dict]) -> bool:
    key = lambda o: json.dumps(o, sort_keys=True)  # noqa: E731
    return sorted(map(key, a)) == sorted(map(key, b))
