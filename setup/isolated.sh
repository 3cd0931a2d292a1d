#!/usr/bin/env bash
# Run a command with no network but loopback, while the environment carries real-looking AWS
# credentials, a profile and a config file that point at another account. The workshop must
# still land on the local emulator: if anything tried to reach AWS, it would fail here.
#
# Usage: setup/isolated.sh COMMAND [ARGS...]
# Where a network namespace cannot be made (macOS, some containers) the command runs without
# one, with a warning; under CI (CI=true) that is an error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fake="${LABS_WORKSHOP_DIR:-$here/../build/test-workshop}/fake-home"
mkdir -p "$fake/.aws"
cat > "$fake/.aws/config" <<'CFG'
[default]
region = eu-west-2
[profile prod-admin]
region = eu-west-2
role_arn = arn:aws:iam::210987654321:role/OrganizationAccountAccessRole
source_profile = prod-keys
[profile prod-keys]
region = eu-west-2
CFG
cat > "$fake/.aws/credentials" <<'CRED'
[default]
aws_access_key_id = AKIAZZZZZZZZZZZZZZZZ
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz
[prod-keys]
aws_access_key_id = AKIAZZZZZZZZZZZZZZZZ
aws_secret_access_key = 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
CRED
# A home of its own, as a developer's laptop has: ~/.aws/config and ~/.aws/credentials for
# another account, a profile selected, and keys in the environment.
export HOME="$fake"
unset AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
export AWS_PROFILE=prod-admin
export AWS_ACCESS_KEY_ID=AKIAZZZZZZZZZZZZZZZZ
export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzzzzzzzzz
export AWS_DEFAULT_REGION=eu-west-2

if unshare --net --map-root-user true 2>/dev/null; then
  export LABS_ISOLATED=1
  exec unshare --net --map-root-user bash -c 'ip link set lo up 2>/dev/null || true; exec "$@"' \
    isolated "$@"
fi
if [ "${CI:-}" = "true" ]; then
  echo "error: cannot create a network namespace (unshare --net), which CI requires." >&2
  exit 1
fi
echo "warning: no network namespace here; running without network isolation." >&2
exec "$@"
