#!/usr/bin/env bash
# Checks the deployment files with the real tools, installing them with apt-get when absent:
# the compose file (`docker-compose config`), the kustomize base (`kubectl kustomize`), the
# alert rules (`promtool check rules`) and the dashboard (valid JSON).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'validate: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
need() {
  local command=$1 package=$2
  command -v "$command" >/dev/null 2>&1 && return 0
  log "installing $package for $command"
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -q
    apt_updated=yes
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$package"
  # Only promtool is wanted from Debian's prometheus package: do not leave a server running.
  if [ "$package" = prometheus ] && command -v systemctl >/dev/null 2>&1; then
    as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
}

need docker-compose docker-compose
need kubectl kubectl
need promtool prometheus
need python3 python3

log "docker-compose config"
HOOKGATE_INTERLACE_SECRETS=validate docker-compose -f deploy/compose.yaml config -q
HOOKGATE_INTERLACE_SECRETS=validate docker-compose -f deploy/compose.yaml --profile tracing config -q

log "kubectl kustomize deploy/k8s"
rendered=$(kubectl kustomize deploy/k8s)
for kind in Deployment Service HorizontalPodAutoscaler PodDisruptionBudget Job ConfigMap; do
  grep -q "^kind: $kind$" <<<"$rendered" || { log "the kustomize base renders no $kind"; exit 1; }
done

log "promtool check rules deploy/prometheus/alerts.yaml"
promtool check rules deploy/prometheus/alerts.yaml

log "deploy/grafana/dashboard.json"
python3 -m json.tool deploy/grafana/dashboard.json >/dev/null

log "all deployment files are valid"
