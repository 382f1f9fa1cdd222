{{/*
The MCP servers of the chart, by their key under mcpServers: the name their
objects carry after the fullname (<fullname>-employee-info, the host the
asset directory's toolgroups name), the binary, and the suffix of their
image's repository (how `cargo xtask build-image --all` names the images,
xtask/src/image/mcp.rs).
*/}}
{{- define "self-service-agent.mcpServerTable" -}}
employeeInfo:
  name: employee-info
  binary: mcp-employee-info
  repositorySuffix: employee-info-mcp
snow:
  name: snow
  binary: mcp-snow
  repositorySuffix: snow-mcp
{{- end }}

{{/*
The keys of the enabled MCP servers, in order, as a JSON list.
*/}}
{{- define "self-service-agent.mcpEnabledKeys" -}}
{{- $keys := list -}}
{{- range $key := list "employeeInfo" "snow" -}}
{{- if (index $.Values.mcpServers $key).enabled -}}
{{- $keys = append $keys $key -}}
{{- end -}}
{{- end -}}
{{- toJson $keys -}}
{{- end }}

{{/*
Name of an MCP server's Deployment and Service: the fullname cut short
enough that "<fullname>-<name>" stays within 63 characters.
Usage: include "self-service-agent.mcpFullname" (list . "employee-info")
*/}}
{{- define "self-service-agent.mcpFullname" -}}
{{- $ctx := index . 0 -}}
{{- $tail := printf "-%s" (index . 1) -}}
{{- printf "%s%s" (include "self-service-agent.fullname" $ctx | trunc (int (sub 63 (len $tail))) | trimSuffix "-") $tail -}}
{{- end }}

{{/*
The component label of an MCP server's objects and pods.
*/}}
{{- define "self-service-agent.mcpComponent" -}}
{{- printf "mcp-%s" . -}}
{{- end }}

{{/*
Selector labels of an MCP server's pods.
Usage: include "self-service-agent.mcpSelectorLabels" (list . "employee-info")
*/}}
{{- define "self-service-agent.mcpSelectorLabels" -}}
{{ include "self-service-agent.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ include "self-service-agent.mcpComponent" (index . 1) }}
{{- end }}

{{/*
An MCP server's image: its own values, each empty field following `image`
(the repository as `image.repository` plus the server's suffix); a digest
only its own.
Usage: include "self-service-agent.mcpImage" (list . "employeeInfo")
*/}}
{{- define "self-service-agent.mcpImage" -}}
{{- $ctx := index . 0 -}}
{{- $key := index . 1 -}}
{{- $server := index (fromYaml (include "self-service-agent.mcpServerTable" $ctx)) $key -}}
{{- $own := (index $ctx.Values.mcpServers $key).image -}}
{{- $registry := default $ctx.Values.image.registry $own.registry -}}
{{- $repository := default (printf "%s-%s" $ctx.Values.image.repository $server.repositorySuffix) $own.repository -}}
{{- if $registry -}}
{{- $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository -}}
{{- end -}}
{{- if $own.digest -}}
{{- printf "%s@%s" $repository $own.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default $ctx.Chart.AppVersion (default $ctx.Values.image.tag $own.tag) | toString) -}}
{{- end -}}
{{- end }}

{{/*
Name of the Secret holding MCP_AUTH_TOKEN: the existing one, or the one
this chart creates (mcp-auth-secret.yaml).
*/}}
{{- define "self-service-agent.mcpAuthSecretName" -}}
{{- if .Values.mcpServers.authToken.existingSecret -}}
{{- .Values.mcpServers.authToken.existingSecret -}}
{{- else -}}
{{- printf "%s-mcp-auth" (include "self-service-agent.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end }}

{{/*
Whether there is a token: it is on, and either a server of the chart
checks it or the user's own Secret holds one (for MCP servers of their own).
Renders "true" or nothing.
*/}}
{{- define "self-service-agent.mcpAuthTokenOn" -}}
{{- $token := .Values.mcpServers.authToken -}}
{{- if and $token.enabled (or $token.existingSecret (fromJsonArray (include "self-service-agent.mcpEnabledKeys" .))) -}}
true
{{- end -}}
{{- end }}

{{/*
MCP_AUTH_TOKEN from its Secret, for the MCP servers and the service (which
passes it on to the MCP servers through LlamaStack); nothing without a
token.
*/}}
{{- define "self-service-agent.mcpAuthEnv" -}}
{{- if include "self-service-agent.mcpAuthTokenOn" . -}}
- name: MCP_AUTH_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "self-service-agent.mcpAuthSecretName" . }}
      key: {{ if .Values.mcpServers.authToken.existingSecret }}{{ .Values.mcpServers.authToken.existingSecretKey }}{{ else }}MCP_AUTH_TOKEN{{ end }}
{{- end -}}
{{- end }}

{{/*
The ServiceNow settings of an MCP server from its servicenow.existingSecret,
keys named like the variables: the instance URL (and, for snow, the catalog
item) must be there, the credentials are either an API key or a user and
password, so each of those is optional.
Usage: include "self-service-agent.servicenowEnv" (list $secret $withCatalogItem)
*/}}
{{- define "self-service-agent.servicenowEnv" -}}
{{- $secret := index . 0 -}}
{{- $required := list "SERVICENOW_INSTANCE_URL" -}}
{{- if index . 1 -}}
{{- $required = append $required "SERVICENOW_LAPTOP_REFRESH_ID" -}}
{{- end -}}
{{- range $required }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
{{- end }}
{{- range list "SERVICENOW_API_KEY" "SERVICENOW_USERNAME" "SERVICENOW_PASSWORD" }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}

{{/*
Probe action of an MCP server: GET /health on its http port, or, with
probes.mode exec, the image's `healthcheck` subcommand inside the container.
*/}}
{{- define "self-service-agent.mcpProbeAction" -}}
{{- if eq . "exec" -}}
exec:
  command:
    - /usr/local/bin/mcp-server
    - healthcheck
    - --url
    - http://127.0.0.1:8000/health
{{- else -}}
httpGet:
  path: /health
  port: http
{{- end -}}
{{- end }}
