{{/*
Expand the name of the chart.
*/}}
{{- define "self-service-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "self-service-agent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "self-service-agent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "self-service-agent.labels" -}}
helm.sh/chart: {{ include "self-service-agent.chart" . }}
{{ include "self-service-agent.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels
*/}}
{{- define "self-service-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "self-service-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Selector labels of the service's pods. The component label keeps the Jobs'
pods (same name/instance labels) out of the Service, the PDB and the HPA.
*/}}
{{- define "self-service-agent.serverSelectorLabels" -}}
{{ include "self-service-agent.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/*
Create the name of the service account to use
*/}}
{{- define "self-service-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "self-service-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The one image reference of the chart: registry/repository@digest when a
digest is given, registry/repository:tag otherwise (tag defaults to the
chart's appVersion). An empty registry leaves the repository as is.
*/}}
{{- define "self-service-agent.image" -}}
{{- $repository := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" .Values.image.registry) .Values.image.repository -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag | toString) -}}
{{- end -}}
{{- end }}

{{/*
Name of a per-revision Job: the fullname cut short enough that
"<name>-<suffix>-<revision>" stays within 63 characters.
Usage: include "self-service-agent.jobName" (list . "db-migrate")
*/}}
{{- define "self-service-agent.jobName" -}}
{{- $ctx := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $tail := printf "-%s-%d" $suffix (int $ctx.Release.Revision) -}}
{{- printf "%s%s" (include "self-service-agent.fullname" $ctx | trunc (int (sub 63 (len $tail))) | trimSuffix "-") $tail -}}
{{- end }}

{{/*
Name of the database Secret: the existing one, or the one this chart creates.
*/}}
{{- define "self-service-agent.databaseSecretName" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- printf "%s-db" (include "self-service-agent.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{/*
Name of the asset ConfigMap to mount, empty when the image's default
asset directory is used.
*/}}
{{- define "self-service-agent.assetsConfigMapName" -}}
{{- if .Values.assets.files -}}
{{- printf "%s-assets" (include "self-service-agent.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- else if .Values.assets.existingConfigMap -}}
{{- .Values.assets.existingConfigMap -}}
{{- end -}}
{{- end }}

{{/*
ConfigMap key of an asset file path ("/" is not allowed in keys).
*/}}
{{- define "self-service-agent.assetKey" -}}
{{- . | replace "/" "__" -}}
{{- end }}

{{/*
The asset directory volume (only when overridden).
*/}}
{{- define "self-service-agent.assetsVolume" -}}
{{- $cm := include "self-service-agent.assetsConfigMapName" . -}}
{{- if $cm -}}
- name: assets
  configMap:
    name: {{ $cm }}
    {{- if .Values.assets.files }}
    items:
      {{- range $path, $_ := .Values.assets.files }}
      - key: {{ include "self-service-agent.assetKey" $path }}
        path: {{ $path }}
      {{- end }}
    {{- else if .Values.assets.existingConfigMapItems }}
    items:
      {{- toYaml .Values.assets.existingConfigMapItems | nindent 6 }}
    {{- end }}
{{- end }}
{{- end }}

{{/*
The asset directory mount at the image's default location /app/config
(only when overridden).
*/}}
{{- define "self-service-agent.assetsVolumeMount" -}}
{{- if include "self-service-agent.assetsConfigMapName" . -}}
- name: assets
  mountPath: /app/config
  readOnly: true
{{- end }}
{{- end }}

{{/*
Environment of every container that talks to PostgreSQL: the connection from
the database Secret, as the process contract names it.
*/}}
{{- define "self-service-agent.databaseEnv" -}}
{{- $secret := include "self-service-agent.databaseSecretName" . -}}
- name: POSTGRES_HOST
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: host
- name: POSTGRES_PORT
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: port
- name: POSTGRES_DB
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: dbname
- name: POSTGRES_USER
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: user
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: password
- name: DB_WAIT_TIMEOUT
  value: {{ .Values.database.connectTimeoutSeconds | quote }}
{{- end }}

{{/*
Environment every container gets: logging, then the user's extra variables.
*/}}
{{- define "self-service-agent.commonEnv" -}}
- name: LOG_LEVEL
  value: {{ .Values.logging.level | quote }}
- name: LOG_FORMAT
  value: {{ .Values.logging.format | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Container fields every container shares: image, pull policy, security context.
*/}}
{{- define "self-service-agent.containerCommon" -}}
image: {{ include "self-service-agent.image" . | quote }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{- end }}

{{/*
The writable /tmp every container gets (the root filesystem is read-only).
*/}}
{{- define "self-service-agent.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}

{{- define "self-service-agent.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
Pod spec fields every pod shares: service account, pull secrets, pod
security context, scheduling.
*/}}
{{- define "self-service-agent.podCommon" -}}
serviceAccountName: {{ include "self-service-agent.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
podFailurePolicy of the Jobs, from the process contract's exit codes: bad
command line (2), unconfirmed destructive action (64) and invalid
configuration (78) cannot succeed on a retry, so they fail the Job at once;
a dependency that stayed unavailable (69) or a failed run (1) is retried up
to backoffLimit. Evicted pods do not count against it.
Usage: include "self-service-agent.podFailurePolicy" "container-name"
*/}}
{{- define "self-service-agent.podFailurePolicy" -}}
podFailurePolicy:
  rules:
    - action: FailJob
      onExitCodes:
        containerName: {{ . }}
        operator: In
        values: [2, 64, 78]
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
{{- end }}

{{/*
Probe action of the service container: an HTTP GET on the http port, or the
image's own `healthcheck` subcommand run inside the container.
Usage: include "self-service-agent.probeAction" (list .Values.probes.mode "/ready")
*/}}
{{- define "self-service-agent.probeAction" -}}
{{- $mode := index . 0 -}}
{{- $path := index . 1 -}}
{{- if eq $mode "exec" -}}
exec:
  command:
    - /usr/local/bin/self-service-agent
    - healthcheck
    - --url
    - {{ printf "http://127.0.0.1:8080%s" $path }}
{{- else -}}
httpGet:
  path: {{ $path }}
  port: http
{{- end -}}
{{- end }}

{{/*
Probe timing fields from a probes.<kind> block (without `enabled`).
*/}}
{{- define "self-service-agent.probeTiming" -}}
{{- toYaml (omit . "enabled") -}}
{{- end }}
