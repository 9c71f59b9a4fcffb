#!/bin/sh
# One-shot job (temporalio/admin-tools image), run after the Temporal server
# container is up: wait until the cluster reports SERVING, create the app's
# namespace if it does not exist, and register the custom search attributes the
# workflows upsert. Idempotent: an existing namespace is left as it is, attributes
# already registered with the right type are skipped, and one registered with another
# type fails the job (Temporal cannot change an attribute's type in place).
# The app's API and worker start only after this job succeeds.
set -eu

TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-720h}"

# Must match src/domain/searchAttributes.ts (CASE_SEARCH_ATTRIBUTES), as Name:Type.
SEARCH_ATTRIBUTES="${CASE_SEARCH_ATTRIBUTES:-CaseType:Keyword CaseStatus:Keyword Category:Keyword PartnerId:Keyword Community:Keyword Overdue:Bool}"

host="${TEMPORAL_ADDRESS%:*}"
port="${TEMPORAL_ADDRESS##*:}"
# Dial the IPv4 address: the server binds 0.0.0.0, and a name that also resolves
# to IPv6 can make the CLI's first attempts fail (as in temporalio/samples-server).
ip="$({ getent ahosts "$host"; getent hosts "$host"; } 2>/dev/null \
  | awk '$1 ~ /^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$/ { print $1; exit }')" || true
address="${ip:-$host}:$port"

temporal_cli() {
  temporal --address "$address" "$@"
}

retry() {
  # retry <attempts> <what> <command...>: transient "unavailable"/"not found yet"
  # answers are normal while the frontend joins the ring or the namespace cache refreshes.
  attempts="$1"
  what="$2"
  shift 2
  n=1
  until "$@"; do
    if [ "$n" -ge "$attempts" ]; then
      echo "setup-namespace: $what failed after $n attempts" >&2
      return 1
    fi
    echo "setup-namespace: $what not ready yet ($n/$attempts), retrying in 3s"
    n=$((n + 1))
    sleep 3
  done
}

echo "setup-namespace: waiting for Temporal at $TEMPORAL_ADDRESS ($address)"
retry 60 "cluster health" sh -c "temporal --address '$address' operator cluster health | grep -q SERVING"

if temporal_cli operator namespace describe --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "setup-namespace: namespace '$NAMESPACE' exists; leaving its settings unchanged"
else
  echo "setup-namespace: creating namespace '$NAMESPACE' (retention $RETENTION)"
  # A concurrent run may have created it meanwhile: accept "already exists" via describe.
  temporal_cli operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
    --description "Gongjian cases" \
    || temporal_cli operator namespace describe --namespace "$NAMESPACE" >/dev/null
fi

expected_type() {
  case "$1" in
    Keyword) echo INDEXED_VALUE_TYPE_KEYWORD ;;
    Bool) echo INDEXED_VALUE_TYPE_BOOL ;;
    *) echo "setup-namespace: unsupported search attribute type $1" >&2; return 1 ;;
  esac
}

# is_registered Name Type: the server reports Name as a custom attribute of that type.
is_registered() {
  want="$(expected_type "$2")" || return 1
  temporal_cli operator search-attribute list --namespace "$NAMESPACE" --output json \
    | grep -Eq "\"$1\"[[:space:]]*:[[:space:]]*\"$want\""
}

create_attribute() {
  temporal_cli operator search-attribute create --namespace "$NAMESPACE" --name "$1" --type "$2"
}

# Create only what is missing (one attribute per call: the CLI pairs a single --type with
# the first --name only), then check the server reports each one, so a mismatch fails the
# deployment here rather than as "search attribute not defined" when the first case starts.
for attribute in $SEARCH_ATTRIBUTES; do
  name="${attribute%%:*}"
  type="${attribute#*:}"
  if is_registered "$name" "$type"; then
    echo "setup-namespace: search attribute $name ($type) already registered"
  else
    retry 20 "creating search attribute $name ($type)" create_attribute "$name" "$type"
    retry 20 "search attribute $name ($type) to become visible" is_registered "$name" "$type"
  fi
done

echo "setup-namespace: namespace '$NAMESPACE' ready; search attributes: $SEARCH_ATTRIBUTES"
