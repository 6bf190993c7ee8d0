#!/usr/bin/env bash
# Milter throughput through a real Postfix: a private Postfix instance on
# loopback (own config, queue and log; mail is accepted and discarded, so
# delivery disk I/O is not measured) with smtpd_milters pointing at MILTER,
# and Postfix's smtp-source sending MSGS copies of FILE over CONC sessions.
# Run it once with no milter ("none") for Postfix's own ceiling.
#
#   scripts/bench-milter.sh MILTER FILE [MSGS] [CONC] [LAT_N]
#   MILTER: inet:127.0.0.1:11339 (outwork serve), inet:127.0.0.1:11332
#           (Rspamd's proxy worker in milter mode), or none
# Needs root (Postfix's master) and the postfix package (smtp-source).
set -euo pipefail
MILTER=${1:?milter address or none}
FILE=${2:?message file}
MSGS=${3:-1000}
CONC=${4:-4}
LAT_N=${5:-300}
D=$(mktemp -d /tmp/outwork-milter-bench.XXXXXX)
trap 'postfix -c "$D/etc" stop >/dev/null 2>&1 || true; rm -rf "$D"' EXIT
chmod 755 "$D"
mkdir -p "$D"/{etc,queue,data}
chown postfix:postfix "$D/data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
milter_lines=""
if [ "$MILTER" != none ]; then
  milter_lines="smtpd_milters = $MILTER
milter_protocol = 6
milter_default_action = tempfail
milter_content_timeout = 60s"
fi
cat > "$D/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $D/queue
data_directory = $D/data
maillog_file = $D/maillog
maillog_file_prefixes = $D
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.localdomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = discard:
relay_transport = discard:
alias_maps =
biff = no
smtputf8_enable = no
smtpd_client_connection_count_limit = 0
$milter_lines
EOF
cat > "$D/etc/master.cf" <<EOF
127.0.0.1:$PORT inet n - n - 100 smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
postfix -c "$D/etc" start >"$D/start.log" 2>&1 || { cat "$D/start.log" "$D/maillog" 2>/dev/null; exit 1; }
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
# Warm up (connections, the milter's first scan), then measure.
smtp-source -s 2 -m 20 -f bench@example.com -t rcpt@example.net -F "$FILE" "127.0.0.1:$PORT"
t0=$(date +%s.%N)
smtp-source -s "$CONC" -m "$MSGS" -f bench@example.com -t rcpt@example.net -F "$FILE" "127.0.0.1:$PORT"
t1=$(date +%s.%N)
rejected=$(grep -c "milter-reject\|milter-discard" "$D/maillog" || true)
awk -v n="$MSGS" -v a="$t0" -v b="$t1" -v m="$MILTER" -v c="$CONC" -v r="$rejected" \
  'BEGIN{printf "milter=%s conc=%d msgs=%d %.2fs %.0f msg/s (milter reject/discard lines: %s)\n", m, c, n, b-a, n/(b-a), r}'
# Latency: LAT_N sequential sessions, one message each, timed to the reply
# after DATA (when the milter has judged it).
printf 'milter=%s latency: ' "$MILTER"
python3 "$(dirname "$0")/smtp-latency.py" 127.0.0.1 "$PORT" "$FILE" "$LAT_N"
