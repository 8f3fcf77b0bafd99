#!/usr/bin/env bash
# Regenerate everything that is generated from the code, in the order each depends on:
# the flow forms and the bring-up flow (from inputs.ts), the .script.yaml schemas (from
# each main), then the deploy metadata (dependencies/ and wmill-lock.yaml, which hash
# every file under f/). Run it after changing a flow's inputs, a step's main, or any
# file under f/; the tests fail while anything generated is stale.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bun=node_modules/.bin/bun
"$bun" scripts/flow-forms.ts --write
"$bun" scripts/script-schema.ts --write --all | grep -v "matches" || true
"$bun" scripts/deploy-metadata.ts --write
