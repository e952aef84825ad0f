{{/*
The chart's name, truncated to 63 characters (the DNS label limit).
*/}}
{{- define "sprintwins.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: every resource is named from it.
*/}}
{{- define "sprintwins.fullname" -}}
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

{{- define "sprintwins.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sprintwins.labels" -}}
helm.sh/chart: {{ include "sprintwins.chart" . }}
{{ include "sprintwins.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "sprintwins.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sprintwins.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sprintwins.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sprintwins.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sprintwins.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The Secret every pod reads: the user's own, or the one this chart renders.
*/}}
{{- define "sprintwins.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- include "sprintwins.fullname" . }}
{{- end }}
{{- end }}

{{/*
Settings for the long-running pods: the ConfigMap, then the Secret.
*/}}
{{- define "sprintwins.envFrom" -}}
- configMapRef:
    name: {{ include "sprintwins.fullname" . }}
- secretRef:
    name: {{ include "sprintwins.secretName" . }}
{{- end }}

{{/*
The database and Redis URLs read from a key of a Secret someone else manages (database.urlSecretName,
redis.urlSecretName). An env entry wins over envFrom, so these override the chart's Secret.
Call with (dict "root" $ "redis" true); the migration Job needs only the database.
*/}}
{{- define "sprintwins.urlEnv" -}}
{{- $root := .root }}
{{- with $root.Values.database.urlSecretName }}
- name: SPRINTWINS_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $root.Values.database.urlSecretKey }}
{{- end }}
{{- if .redis }}
{{- with $root.Values.redis.urlSecretName }}
- name: SPRINTWINS_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $root.Values.redis.urlSecretKey }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Roll the pods when their settings change (envFrom is read only at start-up).
*/}}
{{- define "sprintwins.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/*
The pod-level fields every workload shares: service account, pull secrets, security context.
*/}}
{{- define "sprintwins.podCommon" -}}
serviceAccountName: {{ include "sprintwins.serviceAccountName" . }}
automountServiceAccountToken: false
{{ include "sprintwins.podSecurity" . }}
{{- end }}

{{/*
Pull secrets and the pod security context (the migration hook uses these alone).
*/}}
{{- define "sprintwins.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The writable /tmp the read-only root filesystem needs.
*/}}
{{- define "sprintwins.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end }}

{{- define "sprintwins.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}
