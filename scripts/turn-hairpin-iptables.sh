#!/usr/bin/env bash
# Hairpin NAT for coturn and LiveKit on one public IP: when LiveKit (or anything on this host)
# sends to <public IP>:<relay port>, the packets must reach coturn, which many clouds and Docker
# setups do not do by themselves (ICE pairs stay "failed" with requests sent, no responses).
#
#   PUBLIC_IP=203.0.113.10 TURN_TARGET=172.18.0.4 ./scripts/turn-hairpin-iptables.sh add|del|check|save
#
# TURN_TARGET: the address coturn listens on (its container or host IP).
# RELAY_PORTS: coturn's min-port:max-port (default 49152:49200).
# Every rule carries the comment below, so add and del are idempotent and touch nothing else.
set -euo pipefail

action=${1:-}
: "${PUBLIC_IP:?set PUBLIC_IP to the public address of this host}"
: "${TURN_TARGET:?set TURN_TARGET to the address coturn listens on}"
RELAY_PORTS=${RELAY_PORTS:-49152:49200}
SAVE_FILE=${IPTABLES_SAVE_FILE:-/etc/iptables/rules.v4}
TAG=voice-gateway-turn-hairpin

valid_ipv4() { [[ $1 =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]]; }
valid_ipv4 "$PUBLIC_IP" || { echo "PUBLIC_IP is not an IPv4 address: $PUBLIC_IP" >&2; exit 2; }
valid_ipv4 "$TURN_TARGET" || { echo "TURN_TARGET is not an IPv4 address: $TURN_TARGET" >&2; exit 2; }
[[ $RELAY_PORTS =~ ^[0-9]+:[0-9]+$ ]] || { echo "RELAY_PORTS must look like 49152:49200" >&2; exit 2; }

rule() { # chain: PREROUTING (from outside) or OUTPUT (from this host)
  echo "$1 -d $PUBLIC_IP/32 -p udp -m udp --dport $RELAY_PORTS -m comment --comment $TAG -j DNAT --to-destination $TURN_TARGET"
}

present() { iptables -t nat -C $(rule "$1") 2>/dev/null; }

case "$action" in
  add)
    for chain in PREROUTING OUTPUT; do
      present "$chain" || iptables -t nat -A $(rule "$chain")
    done
    echo "hairpin rules present for $PUBLIC_IP udp $RELAY_PORTS -> $TURN_TARGET"
    ;;
  del)
    for chain in PREROUTING OUTPUT; do
      while present "$chain"; do iptables -t nat -D $(rule "$chain"); done
    done
    echo "hairpin rules removed"
    ;;
  check)
    missing=0
    for chain in PREROUTING OUTPUT; do
      if present "$chain"; then echo "ok       $chain $(rule "$chain" | cut -d' ' -f2-)"; else echo "MISSING  $chain"; missing=1; fi
    done
    exit "$missing"
    ;;
  save)
    if command -v netfilter-persistent >/dev/null; then
      netfilter-persistent save
    else
      mkdir -p "$(dirname "$SAVE_FILE")"
      iptables-save > "$SAVE_FILE"
      echo "saved to $SAVE_FILE (restore at boot with iptables-restore, or install iptables-persistent)"
    fi
    ;;
  *)
    echo "usage: PUBLIC_IP=... TURN_TARGET=... $0 add|del|check|save" >&2
    exit 2
    ;;
esac
