#!/usr/bin/env bash
# The manual procedure that jira-psoxy-setup replaces (psoxy-contract §1, steps 5-8), scripted with
# curl and the aws CLI as fast as a shell allows: no prompts, no jq, no pauses. Used by
# scripts/bench.py as the baseline; not part of the test suite.
#
# The operator's hand-work (copying the code out of the address bar, the tokens out of curl's
# output, the cloud id into terraform.tfvars) is done here by sed in microseconds, so this is
# the lower bound of the manual procedure's time, not an estimate of a human's.
#
# Input (environment): SIM (base URL of the Atlassian simulator, standing in for both
# auth.atlassian.com and api.atlassian.com), CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, PREFIX
# (e.g. PSOXY_JIRA_CLOUD_), TFVARS (a terraform.tfvars with a jira_cloud_id line), AWS (the aws
# CLI), AWS_* (endpoint, region, keys), PARALLEL=1 to run the four put-parameter calls
# concurrently (a stronger baseline than a person typing them one after another).
# Output: on stderr, one line `step <name> <microseconds>` per step (bash's $EPOCHREALTIME,
# no extra processes).
set -euo pipefail

: "${SIM:?}" "${CLIENT_ID:?}" "${CLIENT_SECRET:?}" "${REDIRECT_URI:?}" "${PREFIX:?}"
: "${TFVARS:?}" "${AWS:?}"
SIM=${SIM%/}
PARALLEL=${PARALLEL:-0}

last=${EPOCHREALTIME//[!0-9]/}
step() {
    local now=${EPOCHREALTIME//[!0-9]/}
    printf 'step %s %s\n' "$1" "$((now - last))" >&2
    last=$now
}

# 5. The authorize URL of Psoxy's docs, with a state of our own; the browser's "Accept" is the
# same curl request the benchmark makes for the tool. The code is copied out of the Location.
scopes='offline_access%20read%3Agroup%3Ajira%20read%3Aavatar%3Ajira%20read%3Auser%3Ajira%20read%3Aaccount%20read%3Ajira-user%20read%3Ajira-work'
redirect=$(printf '%s' "$REDIRECT_URI" | sed 's/%/%25/g; s/:/%3A/g; s|/|%2F|g; s/?/%3F/g; s/&/%26/g; s/=/%3D/g')
state=manual-$RANDOM$RANDOM
query="audience=api.atlassian.com&client_id=$CLIENT_ID&scope=$scopes&redirect_uri=$redirect&state=$state&response_type=code&prompt=consent"
location=$(curl -sS -o /dev/null -w '%{redirect_url}' "$SIM/authorize/decide?$query&decision=accept")
code=$(printf '%s' "$location" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
[ -n "$code" ] || { echo "no code in the consent redirect: $location" >&2; exit 1; }
step consent

# 6. Exchange the code.
tokens=$(curl -sS --fail-with-body -X POST "$SIM/oauth/token" -H 'Content-Type: application/json' \
    -d "{\"grant_type\":\"authorization_code\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\",\"code\":\"$code\",\"redirect_uri\":\"$REDIRECT_URI\"}")
access=$(printf '%s' "$tokens" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
refresh=$(printf '%s' "$tokens" | sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p')
[ -n "$access" ] && [ -n "$refresh" ] || { echo "no tokens in: $tokens" >&2; exit 1; }
step token-exchange

# 7. The four secrets, each a SecureString over Terraform's placeholder.
put() {
    "$AWS" ssm put-parameter --name "$PREFIX$1" --value "$2" --type SecureString --overwrite >/dev/null
}
if [ "$PARALLEL" = 1 ]; then
    put CLIENT_ID "$CLIENT_ID" &
    p1=$!
    put CLIENT_SECRET "$CLIENT_SECRET" &
    p2=$!
    put REFRESH_TOKEN "$refresh" &
    p3=$!
    put ACCESS_TOKEN "$access" &
    p4=$!
    wait "$p1" && wait "$p2" && wait "$p3" && wait "$p4"
else
    put CLIENT_ID "$CLIENT_ID"
    put CLIENT_SECRET "$CLIENT_SECRET"
    put REFRESH_TOKEN "$refresh"
    put ACCESS_TOKEN "$access"
fi
step aws-ssm-put-parameter-x4

# 8. The site's cloud id, into terraform.tfvars.
resources=$(curl -sS --fail-with-body "$SIM/oauth/token/accessible-resources" -H "Authorization: Bearer $access")
cloud_id=$(printf '%s' "$resources" | grep -o '"id":"[^"]*"' | head -n 1 | cut -d '"' -f 4)
[ -n "$cloud_id" ] || { echo "no site in: $resources" >&2; exit 1; }
step accessible-resources
sed -i "s/^jira_cloud_id[[:space:]]*=.*/jira_cloud_id = \"$cloud_id\"/" "$TFVARS"
step tfvars
