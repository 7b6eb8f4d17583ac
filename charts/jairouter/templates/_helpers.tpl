{{/*
Fixed names: the operator and the proxies find each other by them (see values.yaml).
*/}}
{{- define "jairouter.operator.name" -}}jairouter-operator{{- end }}
{{- define "jairouter.proxy.name" -}}jairouter-proxy{{- end }}
{{/* The admin-port (metrics) Services, apart from the Services that clients and proxies call. */}}
{{- define "jairouter.operator.metricsName" -}}jairouter-operator-metrics{{- end }}
{{- define "jairouter.proxy.metricsName" -}}jairouter-proxy-metrics{{- end }}
{{- define "jairouter.metricsServiceLabel" -}}jairouter.io/metrics: "true"{{- end }}
{{- define "jairouter.caConfigMap" -}}jairouter-ca{{- end }}
{{- define "jairouter.snapshotSecret" -}}jairouter-snapshot{{- end }}
{{- define "jairouter.tlsSecret" -}}jairouter-operator-tls{{- end }}
{{- define "jairouter.leaseName" -}}jairouter-operator{{- end }}
{{/* The audience of the proxies' projected ServiceAccount token; the operator's TokenReview expects it. */}}
{{- define "jairouter.tokenAudience" -}}jairouter-operator{{- end }}

{{/*
Name of the operator's cluster-scoped RBAC objects and of its Roles in watched namespaces:
it carries the release namespace, so installations in two namespaces do not collide.
*/}}
{{- define "jairouter.operator.rbacName" -}}
{{- printf "jairouter-operator-%s" .Release.Namespace | trunc 253 -}}
{{- end }}

{{- define "jairouter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "jairouter.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end }}

{{/*
Labels. Call with (dict "ctx" $ "component" "operator"|"proxy"), or with the root context
for objects that belong to no single component.
*/}}
{{- define "jairouter.selectorLabels" -}}
{{- $ctx := .ctx | default . -}}
app.kubernetes.io/name: jairouter
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{- define "jairouter.labels" -}}
{{- $ctx := .ctx | default . -}}
{{ include "jairouter.selectorLabels" . }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: jairouter
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
helm.sh/chart: {{ include "jairouter.chart" $ctx }}
{{- with $ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod spec keys shared by both Deployments. Call with
(dict "ctx" $ "values" .Values.operator|proxy "component" "operator"|"proxy").
*/}}
{{- define "jairouter.podScheduling" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml .values.topologySpreadConstraints | nindent 2 }}
{{- else if and .values.topologySpread.enabled .values.topologySpread.topologyKeys }}
{{- $t := .values.topologySpread }}
{{- $sel := include "jairouter.selectorLabels" (dict "ctx" .ctx "component" .component) }}
{{- /* matchLabelKeys: count only the pods of the current ReplicaSet, so a rollout spreads the new pods too. */}}
topologySpreadConstraints:
  {{- range $t.topologyKeys }}
  - topologyKey: {{ . }}
    maxSkew: {{ $t.maxSkew }}
    whenUnsatisfiable: {{ $t.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- $sel | nindent 8 }}
    matchLabelKeys: ["pod-template-hash"]
  {{- end }}
{{- end }}
{{- with .ctx.Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
What the operator may do wherever it watches resources: read the three kinds and write
their status, read the Secrets and Services they reference and the EndpointSlices of those
Services, and record Events. A ClusterRole when it watches every namespace, otherwise a Role
in each watched namespace.
*/}}
{{- define "jairouter.operator.watchRules" -}}
- apiGroups: ["jairouter.io"]
  resources: ["modelroutes", "tenants", "ratelimitpolicies"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["jairouter.io"]
  resources: ["modelroutes/status", "tenants/status", "ratelimitpolicies/status"]
  verbs: ["update", "patch"]
- apiGroups: [""]
  resources: ["secrets", "services"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* An int-or-percent value as a string; "" when empty or null. */}}
{{- define "jairouter.intOrPercent" -}}
{{- if not (kindIs "invalid" .) }}{{ toString . }}{{ end -}}
{{- end }}

{{/* NetworkPolicy rule: the admin port 9090 (/metrics) from the monitoring namespaces. Empty when none. */}}
{{- define "jairouter.networkPolicy.metricsIngress" -}}
{{- with .Values.networkPolicy.metricsNamespaceSelectors -}}
# /metrics on the admin port, from the monitoring namespaces.
- from:
    {{- range . }}
    - namespaceSelector:
        {{- toYaml . | nindent 8 }}
    {{- end }}
  ports:
    - protocol: TCP
      port: 9090
{{- end }}
{{- end }}

{{/* NetworkPolicy rule: DNS to any address (the cluster DNS Service, or a node-local cache). */}}
{{- define "jairouter.networkPolicy.dnsEgress" -}}
# DNS.
- ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}

{{/*
The OTEL_* variables of a component's container when tracing.endpoint is set (nothing otherwise).
Needs POD_NAME defined before it in the container's env. Args: ctx (root), component.
*/}}
{{- define "jairouter.tracingEnv" -}}
{{- $t := .ctx.Values.tracing }}
{{- if $t.endpoint }}
{{- $name := ternary (include "jairouter.proxy.name" .ctx) (include "jairouter.operator.name" .ctx) (eq .component "proxy") }}
{{- $attrs := list (printf "k8s.namespace.name=%s" .ctx.Release.Namespace) (printf "k8s.deployment.name=%s" $name) "k8s.pod.name=$(POD_NAME)" }}
{{- range $k, $v := $t.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" (urlquery $k | replace "+" "%20") (urlquery (toString $v) | replace "+" "%20")) }}
{{- end }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $t.endpoint | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $t.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $t.samplerArg | toString | quote }}
- name: OTEL_SERVICE_NAME
  value: {{ index $t.serviceName .component | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- end }}
{{- end }}
