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

{{/*
What the values cannot say in the schema alone: settings that only work
together. Included by deployment.yaml, which every render has.
*/}}
{{- define "self-service-agent.validate" -}}
{{- if and (ne .Values.auth.mode "header") (not .Values.auth.apiKeysSecret) }}
{{- fail (printf "auth.mode %q needs auth.apiKeysSecret (a Secret holding the API keys file)" .Values.auth.mode) }}
{{- end }}
{{- $smtp := .Values.delivery.smtp }}
{{- if ne (empty $smtp.username) (empty $smtp.existingSecret) }}
{{- fail "delivery.smtp.username and delivery.smtp.existingSecret (the password) are set together or not at all" }}
{{- end }}
{{- if and $smtp.username (not $smtp.host) }}
{{- fail "delivery.smtp.username needs delivery.smtp.host" }}
{{- end }}
{{- if and .Values.slack.enabled (not .Values.slack.existingSecret) }}
{{- fail "slack.enabled needs slack.existingSecret (a Secret with the keys SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)" }}
{{- end }}
{{- if and .Values.slack.ingress.enabled (not .Values.slack.enabled) }}
{{- fail "slack.ingress.enabled needs slack.enabled" }}
{{- end }}
{{- if and .Values.slack.ingress.enabled (not .Values.slack.ingress.host) }}
{{- fail "slack.ingress.enabled needs slack.ingress.host (the host of Slack's request URLs)" }}
{{- end }}
{{- end }}

{{/*
The `db-migrate wait` init container of the service's and the dispatcher's
pods: it holds a new pod until the schema is at migration.expectedVersion.
*/}}
{{- define "self-service-agent.waitForSchemaContainer" -}}
- name: wait-for-schema
  {{- include "self-service-agent.containerCommon" . | nindent 2 }}
  command:
    - /usr/local/bin/db-migrate
  args:
    - wait
  env:
    {{- include "self-service-agent.databaseEnv" . | nindent 4 }}
    - name: EXPECTED_MIGRATION_VERSION
      value: {{ .Values.migration.expectedVersion | quote }}
    - name: MIGRATION_WAIT_TIMEOUT
      value: {{ .Values.migration.waitTimeoutSeconds | quote }}
    {{- include "self-service-agent.commonEnv" . | nindent 4 }}
  resources:
    {{- toYaml .Values.migration.waitResources | nindent 4 }}
  volumeMounts:
    {{- include "self-service-agent.tmpVolumeMount" . | nindent 4 }}
{{- end }}

{{/*
Name of the dispatcher's Deployment and PDB: the fullname cut short enough
that "<name>-dispatcher" stays within 63 characters.
*/}}
{{- define "self-service-agent.dispatcherFullname" -}}
{{- printf "%s-dispatcher" (include "self-service-agent.fullname" . | trunc 52 | trimSuffix "-") -}}
{{- end }}

{{/*
Selector labels of the dispatcher's pods (no Service selects them).
*/}}
{{- define "self-service-agent.dispatcherSelectorLabels" -}}
{{ include "self-service-agent.selectorLabels" . }}
app.kubernetes.io/component: dispatcher
{{- end }}

{{/*
The dispatcher's own settings, for whichever pods dispatch: the service's
(dispatcher.enabled false) or the dispatcher's.
*/}}
{{- define "self-service-agent.dispatchEnv" -}}
- name: DISPATCH_CONCURRENCY
  value: {{ .Values.delivery.concurrency | quote }}
- name: DISPATCH_POLL_INTERVAL
  value: {{ .Values.delivery.pollIntervalSeconds | quote }}
- name: DELIVERY_MAX_BACKOFF
  value: {{ .Values.delivery.maxBackoffSeconds | quote }}
{{- end }}

{{/*
The delivery channels' settings (docs/delivery.md, "Settings"), the same in
the service's pods (which check integrations against them) and the
dispatcher's (which send through them); secrets only by secretKeyRef.
*/}}
{{- define "self-service-agent.deliveryEnv" -}}
{{- $smtp := .Values.delivery.smtp -}}
{{- if $smtp.host }}
- name: SMTP_HOST
  value: {{ $smtp.host | quote }}
- name: SMTP_PORT
  value: {{ $smtp.port | quote }}
- name: SMTP_SECURITY
  value: {{ $smtp.security | quote }}
- name: SMTP_TIMEOUT
  value: {{ $smtp.timeoutSeconds | quote }}
- name: FROM_EMAIL
  value: {{ $smtp.fromEmail | quote }}
- name: FROM_NAME
  value: {{ $smtp.fromName | quote }}
{{- if $smtp.username }}
- name: SMTP_USERNAME
  value: {{ $smtp.username | quote }}
- name: SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $smtp.existingSecret }}
      key: {{ $smtp.existingSecretKey }}
{{- end }}
{{- end }}
- name: WEBHOOK_TIMEOUT
  value: {{ .Values.delivery.webhook.timeoutSeconds | quote }}
{{- with .Values.delivery.webhook.existingSecret }}
- name: WEBHOOK_SIGNING_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.delivery.webhook.existingSecretKey }}
{{- end }}
{{- end }}

{{/*
Slack's credentials and Web API, for the service's pods (its routes) and
the dispatcher's (the SLACK channel); nothing when Slack is off.
*/}}
{{- define "self-service-agent.slackEnv" -}}
{{- if .Values.slack.enabled -}}
{{- range list "SLACK_BOT_TOKEN" "SLACK_SIGNING_SECRET" }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.slack.existingSecret }}
      key: {{ . }}
{{- end }}
- name: SLACK_API_URL
  value: {{ .Values.slack.apiUrl | quote }}
{{- end -}}
{{- end }}
