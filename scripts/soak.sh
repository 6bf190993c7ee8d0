#!/usr/bin/env bash
# Soak test: a private Postfix on loopback with `outwork serve` as its
# milter, fed a mix of ham, phish and hostile messages with swaks for
# DURATION seconds, sampling outwork's RSS every 10 s, then counting what
# was sent against what was delivered, quarantined, rejected or tempfailed.
#
#   scripts/soak.sh [DURATION]            # default 1800 s
#
# Environment:
#   OUTWORK    the outwork binary            (default target/release/outwork)
#   CORPUS     the labelled corpus           (default /work/shared/corpus)
#   HOSTILE    dir of hostile .eml files     (default /tmp/hostile; made by
#              `cargo run --release --example hostile /tmp/hostile`)
#   N_HAM, N_PHISH   files taken from each   (default 200 each)
#   WORKERS    concurrent swaks senders      (default 2)
#   PAUSE      seconds between one sender's messages (default 0.2)
#   HOSTILE_EVERY    every Nth message of a sender is hostile (default 20)
#   OUT        work/result directory         (default a new /tmp/outwork-soak.XXXX)
#
# Needs root (Postfix's master runs as root), postfix and swaks; the same
# private-instance layout as crates/outwork-server/tests/postfix_e2e.rs
# (own main.cf/master.cf, queue and data dirs, `virtual` delivery of every
# recipient to one Maildir). Nothing outside OUT is touched.
#
# Counting ("no lost mail"): every swaks run records the server's reply to
# the end of DATA and the Postfix queue id ("250 ... queued as ID").
# Postfix only says 250 after the milter's end-of-message answer, so each
# 250 must end up either in the Maildir (found by its queue id in the
# topmost Received header) or in outwork's quarantine (milter log line
# "message quarantined as ..., discarded" with that queue_id). A 250 found
# in neither is LOST. 4xx/5xx replies are the sender's to retry/bounce and
# are counted, not lost. Results: OUT/summary.txt, OUT/rss.tsv, OUT/sent.tsv.
set -euo pipefail

DURATION=${1:-${DURATION:-1800}}
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUTWORK=${OUTWORK:-$REPO/target/release/outwork}
CORPUS=${CORPUS:-/work/shared/corpus}
HOSTILE=${HOSTILE:-/tmp/hostile}
N_HAM=${N_HAM:-200}
N_PHISH=${N_PHISH:-200}
WORKERS=${WORKERS:-2}
PAUSE=${PAUSE:-0.2}
HOSTILE_EVERY=${HOSTILE_EVERY:-20}
OUT=${OUT:-$(mktemp -d /tmp/outwork-soak.XXXX)}

for c in postfix postqueue swaks; do
    command -v "$c" >/dev/null || { echo "soak: needs $c" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "soak: needs root (Postfix master)" >&2; exit 2; }
[ -x "$OUTWORK" ] || { echo "soak: no outwork binary at $OUTWORK" >&2; exit 2; }

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

mkdir -p "$OUT"/{etc,queue,data,mail,quarantine}
chmod 755 "$OUT"
chown postfix:postfix "$OUT/data" "$OUT/mail"
PUID=$(id -u postfix); PGID=$(id -g postfix)
SMTP_PORT=$(free_port); MILTER_PORT=$(free_port)

# --- the message mix -------------------------------------------------------
find "$CORPUS/ham" -type f ! -name '*.json' ! -name 'cmds' | sort \
    | awk -v n="$N_HAM" 'BEGIN{srand(17)} {a[NR]=$0} END{for(i=1;i<=NR&&c<n;i++) if(rand()<n*1.5/NR){print a[i];c++}}' \
    | sed 's/^/ham\t/' >"$OUT/ham.lst"
find "$CORPUS/phish/phishing_pot" -type f | sort \
    | awk -v n="$N_PHISH" 'BEGIN{srand(17)} {a[NR]=$0} END{for(i=1;i<=NR&&c<n;i++) if(rand()<n*1.5/NR){print a[i];c++}}' \
    | sed 's/^/phish\t/' >"$OUT/phish.lst"
paste -d '\n' "$OUT/ham.lst" "$OUT/phish.lst" | grep -v '^$' >"$OUT/mix.lst"
ls "$HOSTILE"/*.eml 2>/dev/null | sed 's/^/hostile\t/' >"$OUT/hostile.lst" || true
echo "soak: $(wc -l <"$OUT/ham.lst") ham, $(wc -l <"$OUT/phish.lst") phish, $(wc -l <"$OUT/hostile.lst") hostile files"

# --- outwork serve (milter only) ---------------------------------------------
cat >"$OUT/outwork.toml" <<EOF
[milter]
listen = ["inet:127.0.0.1:$MILTER_PORT"]
quarantine_dir = "$OUT/quarantine"
quarantine_mode = "discard"

# Lower than the defaults (5/10/15) so that, without an intel store, the
# phish in the mix reach quarantine and the quarantine path is exercised;
# reject is out of reach so a refused message is a tempfail or Postfix's own.
[thresholds]
tag = 3
quarantine = 5
reject = 1000
EOF
NO_COLOR=1 RUST_LOG=info "$OUTWORK" serve -c "$OUT/outwork.toml" >"$OUT/milter.log" 2>&1 &
OW_PID=$!

cleanup() {
    set +e
    [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null
    postfix -c "$OUT/etc" stop >/dev/null 2>&1
    kill "$OW_PID" 2>/dev/null; wait "$OW_PID" 2>/dev/null
}
trap cleanup EXIT

for _ in $(seq 100); do
    grep -q "milter listening" "$OUT/milter.log" && break
    kill -0 "$OW_PID" 2>/dev/null || { cat "$OUT/milter.log"; exit 1; }
    sleep 0.1
done

# --- Postfix ---------------------------------------------------------------
cat >"$OUT/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $OUT/queue
data_directory = $OUT/data
maillog_file = $OUT/maillog
maillog_file_prefixes = $OUT
mail_owner = postfix
setgid_group = postdrop
myhostname = outwork-soak.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost =
default_transport = error
relay_transport = error
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
message_size_limit = 100000000
virtual_mailbox_limit = 0
virtual_mailbox_domains = example.net example.com example.org
virtual_mailbox_base = $OUT/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:$PUID
virtual_gid_maps = static:$PGID
virtual_minimum_uid = 1
smtpd_milters = inet:127.0.0.1:$MILTER_PORT
milter_protocol = 6
milter_default_action = tempfail
milter_connect_macros = j {daemon_name} {client_addr} v _
EOF
{
    echo "127.0.0.1:$SMTP_PORT inet n - n - - smtpd"
    cat "$REPO/tests/postfix/master-services.cf"
} >"$OUT/etc/master.cf"
postfix -c "$OUT/etc" start
for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null && break
    sleep 0.1
done
echo "soak: postfix smtpd 127.0.0.1:$SMTP_PORT, milter 127.0.0.1:$MILTER_PORT (pid $OW_PID), $DURATION s, out $OUT"

# --- RSS sampler -------------------------------------------------------------
START=$(date +%s)
printf 'epoch\telapsed_s\trss_kb\tsent\n' >"$OUT/rss.tsv"
(
    set +e +o pipefail
    while kill -0 "$OW_PID" 2>/dev/null; do
        rss=$(awk '/^VmRSS/{print $2}' "/proc/$OW_PID/status" 2>/dev/null || echo -)
        now=$(date +%s)
        sent=$(cat "$OUT"/sent.*.tsv 2>/dev/null | wc -l)
        printf '%s\t%s\t%s\t%s\n' "$now" "$((now - START))" "$rss" "$sent" >>"$OUT/rss.tsv"
        sleep 10
    done
) &
SAMPLER=$!

# --- senders -----------------------------------------------------------------
sender() {
    local w=$1 i=0 n kind file t0 t1 reply code qid rc
    n=$(wc -l <"$OUT/mix.lst")
    local nh; nh=$(wc -l <"$OUT/hostile.lst")
    while [ $(( $(date +%s) - START )) -lt "$DURATION" ]; do
        i=$((i + 1))
        if [ "$nh" -gt 0 ] && [ $((i % HOSTILE_EVERY)) -eq 0 ]; then
            IFS=$'\t' read -r kind file < <(sed -n "$(( (i / HOSTILE_EVERY + w) % nh + 1 ))p" "$OUT/hostile.lst")
        else
            IFS=$'\t' read -r kind file < <(sed -n "$(( (i * WORKERS + w) % n + 1 ))p" "$OUT/mix.lst")
        fi
        t0=$(date +%s.%N)
        rc=0
        swaks --server "127.0.0.1:$SMTP_PORT" --from "soak$w@example.org" \
            --to "inbox@example.net" --timeout 300 --data "$file" \
            --suppress-data >"$OUT/swaks.$w.tmp" 2>&1 || rc=$?
        t1=$(date +%s.%N)
        # The reply to the end of DATA: the last server reply before QUIT's 221.
        reply=$(grep -E '^ *<(-|\*\*) +[0-9]{3}[ -]' "$OUT/swaks.$w.tmp" | grep -vE '<(-|\*\*) +221 ' | tail -n 1 \
            | sed -E 's/^ *<(-|\*\*) +//' | tr '\t' ' ' || true)
        code=${reply%% *}
        qid=$(sed -nE 's/.*queued as ([0-9A-Za-z]+).*/\1/p' <<<"$reply" || true)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\n' "$(date +%s)" "$w" "$kind" "$file" "$rc" "${code:--}" \
            "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "${qid:--}" >>"$OUT/sent.$w.tsv"
        sleep "$PAUSE"
    done
}
SENDERS=()
for w in $(seq 1 "$WORKERS"); do sender "$w" & SENDERS+=($!); done
for p in "${SENDERS[@]}"; do wait "$p" || echo "soak: sender $p exited $?" >&2; done

# --- drain and count -----------------------------------------------------------
for _ in $(seq 600); do
    [ -z "$(postqueue -c "$OUT/etc" -j 2>/dev/null)" ] && break
    sleep 0.5
done
sleep 1
kill "$SAMPLER" 2>/dev/null || true
{ printf 'epoch\tworker\tkind\tfile\tswaks_rc\treply\tseconds\tqueue_id\n'; sort -n "$OUT"/sent.*.tsv; } >"$OUT/sent.tsv"

set +e +o pipefail
sed 's/\x1b\[[0-9;]*m//g' "$OUT/milter.log" >"$OUT/milter.plain.log"
# queue ids delivered to the Maildir (Postfix's own, topmost Received header)
find "$OUT/mail" -type f -path '*/new/*' -o -type f -path '*/cur/*' \
    | xargs -r grep -m1 -hoE 'outwork-soak\.localdomain \(Postfix\) with E?SMTP id [0-9A-Za-z]+' \
    | awk '{print $NF}' | sort -u >"$OUT/delivered.ids"
# queue ids quarantined, from the milter log
grep 'message quarantined as' "$OUT/milter.plain.log" | sed -nE 's/.*queue_id="?([0-9A-Za-z]+).*/\1/p' | sort -u >"$OUT/quarantined.ids"
awk -F'\t' 'NR>1 && $6=="250" && $8!="-"{print $8}' "$OUT/sent.tsv" | sort -u >"$OUT/accepted.ids"
comm -23 "$OUT/accepted.ids" <(sort -u "$OUT/delivered.ids" "$OUT/quarantined.ids") >"$OUT/lost.ids"

count() { awk -F'\t' "NR>1 && $1" "$OUT/sent.tsv" | wc -l; }
{
    echo "duration_s	$DURATION"
    echo "binary	$OUTWORK"
    echo "sent	$(count 1)"
    for k in ham phish hostile; do
        echo "sent_$k	$(count "\$3==\"$k\"")	250: $(count "\$3==\"$k\" && \$6==\"250\"")	4xx: $(count "\$3==\"$k\" && \$6 ~ /^4/")	5xx: $(count "\$3==\"$k\" && \$6 ~ /^5/")	other: $(count "\$3==\"$k\" && \$6 !~ /^[245]/")"
    done
    echo "accepted_250	$(wc -l <"$OUT/accepted.ids")"
    echo "tempfailed_4xx	$(count '$6 ~ /^4/')"
    echo "rejected_5xx	$(count '$6 ~ /^5/')"
    echo "no_reply	$(count '$6 !~ /^[245]/')"
    echo "delivered_maildir	$(wc -l <"$OUT/delivered.ids")"
    echo "quarantined_log	$(wc -l <"$OUT/quarantined.ids")"
    echo "quarantine_files	$(find "$OUT/quarantine" -name '*.eml' | wc -l)"
    echo "milter_outcomes	$(grep -c 'outwork::milter.*message ' "$OUT/milter.plain.log" || true)"
    for o in 'delivered (' 'delivered unscanned' 'quarantined as' 'rejected (' 'tempfailed ('; do
        echo "  milter '$o'	$(grep -c "message $o" "$OUT/milter.plain.log" || true)"
    done
    echo "lost	$(wc -l <"$OUT/lost.ids")"
    echo "postfix_queue_left	$(postqueue -c "$OUT/etc" -j 2>/dev/null | wc -l)"
    awk -F'\t' 'NR>1 && $3!="-"{n++; if(n==1)f=$3; l=$3; if($3>m)m=$3} END{printf "rss_kb\tfirst %s\tlast %s\tmax %s\tsamples %d\n", f, l, m, n}' "$OUT/rss.tsv"
    awk -F'\t' 'NR>1{print $7}' "$OUT/sent.tsv" | sort -n | awk '{a[NR]=$1} END{if(NR){p=int(NR*0.5)+1; q=int(NR*0.99)+1; if(q>NR)q=NR; if(p>NR)p=NR; printf "swaks_seconds\tp50 %s\tp99 %s\tmax %s\n", a[p], a[q], a[NR]}}'
} | tee "$OUT/summary.txt"
