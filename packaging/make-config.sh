#!/usr/bin/env bash
# The packaged /etc/outwork/outwork.toml: the repo's commented example
# (outwork.example.toml) with the state paths a package uses — the intel
# store, history, quarantine, verdict log and learned model under
# /var/lib/outwork, the milter socket in /run/outwork — and [milter],
# [http] and [dashboard] switched on. Each edit must match exactly one line
# of the example, so a changed example fails here instead of shipping a
# config that silently kept the old defaults.
#   packaging/make-config.sh [EXAMPLE] > outwork.toml
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
example="${1:-$here/../outwork.example.toml}"
text="$(cat "$example")"

# replace OLD NEW: OLD is a whole line of the example, present exactly once.
replace() {
  local n
  n="$(printf '%s\n' "$text" | grep -cxF -- "$1" || true)"
  if [ "$n" != 1 ]; then
    echo "make-config.sh: expected exactly one line '$1' in $example, found $n" >&2
    exit 1
  fi
  text="$(OLD="$1" NEW="$2" awk '$0 == ENVIRON["OLD"] { print ENVIRON["NEW"]; next } { print }' <<<"$text")"
}

replace '# outwork.toml — the deployment context. Every key is optional; with no file' \
'# /etc/outwork/outwork.toml — the deployment context, installed by the outwork
# package (a conffile: your edits survive upgrades). `systemctl reload outwork`
# re-reads it; listen addresses need `systemctl restart outwork`.
#
# outwork.toml — the deployment context. Every key is optional; with no file'
replace '# path = "/var/lib/outwork/intel.owi"' \
'path = "/var/lib/outwork/intel.owi"     # outwork-intel-update.timer refreshes it hourly'
replace '# [milter]' '[milter]'
replace '# listen = ["inet:127.0.0.1:11339"]' \
'# Postfix connects as a member of group outwork (adduser postfix outwork);
# a chrooted smtpd (Debian'"'"'s default) can'"'"'t see /run: see
# /usr/share/doc/outwork/INTEGRATION.md for inet:127.0.0.1:11339 instead.
listen = ["unix:/run/outwork/milter.sock"]
unix_mode = 0o660'
replace '# quarantine_dir = "/var/lib/outwork/quarantine"' 'quarantine_dir = "/var/lib/outwork/quarantine"'
replace '# [http]' '[http]'
replace '# listen = "127.0.0.1:11333"' 'listen = "127.0.0.1:11333"'
replace '# [dashboard]' '[dashboard]'
replace '# path = "/var/lib/outwork/verdicts.jsonl"   # default: the data dir; "" = memory only' \
'path = "/var/lib/outwork/verdicts.jsonl"   # "" = memory only'
replace '# reports_dir = "/var/lib/outwork/reports"' 'reports_dir = "/var/lib/outwork/reports"'

cat <<EOT
$text

# First-contact history (docs/CONFIGURATION.md: First contact): who has written to whom.
[history]
enabled = false
path = "/var/lib/outwork/history.owh"

# The learned verdict model (docs/CONFIGURATION.md: Learned verdicts). Default: the built-in
# one. After \`outwork learn --config /etc/outwork/outwork.toml
# -o /var/lib/outwork/model.owml --phish ... --ham ...\`, uncomment:
[model]
# path = "/var/lib/outwork/model.owml"
EOT
