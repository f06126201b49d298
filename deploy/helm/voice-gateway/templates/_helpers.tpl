{{/* Names and labels shared by every object of the chart. */}}
{{- define "vg.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vg.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include "vg.selector" (list . "api") */}}
{{- define "vg.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "vg.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The operator's Secret (database URL, LiveKit secret): required. */}}
{{- define "vg.userSecret" -}}
{{- required "secrets.existingSecret: name a Secret holding DATABASE_URL and LIVEKIT_API_SECRET (docs/deploy.md)" .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The Secret the chart generates once (encryption key, TURN and edge secrets). */}}
{{- define "vg.generatedSecret" -}}
{{- printf "%s-generated" (include "vg.fullname" .) -}}
{{- end -}}

{{/* An env entry read from a Secret: include "vg.secretEnv" (list "NAME" "secret" "key") */}}
{{- define "vg.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 }}
      key: {{ index . 2 }}
{{- end -}}

{{- define "vg.redisUrl" -}}
redis://{{ required "redis.address: host:port of the Redis livekit-server and LiveKit SIP share" .Values.redis.address }}
{{- end -}}

{{- define "vg.livekitUrl" -}}
{{ required "livekit.url: livekit-server's API in the cluster (LiveKit's chart)" .Values.livekit.url }}
{{- end -}}

{{/* The edge's JSON-RPC as the API reaches it: the sip pod's Service. */}}
{{- define "vg.edgeRpcUrl" -}}
http://{{ include "vg.fullname" . }}-edge-rpc:{{ .Values.sip.edge.rpcPort }}/RPC
{{- end -}}
