#!/bin/sh
# Starts the gateway: `sh gateway/start.sh [bun options]`, as the image does.
#
# JavaScriptCore's allocator keeps a thread that touches memory blocks ahead of use. Under load it was
# about a fifth of the gateway's CPU per request (gateway/README.md, "The hot path"), work a proxy
# that allocates a little per request does not need. Bun takes the switch only as an environment
# variable read before it starts, and refuses to start at all on one its JavaScriptCore no longer
# knows: so it is set only if this Bun accepts it (a Bun without it starts the gateway as before),
# and never over a value the operator set.
if [ -z "${BUN_JSC_useWarmUpMarkedBlocks+set}" ] && BUN_JSC_useWarmUpMarkedBlocks=false bun -e '' >/dev/null 2>&1; then
  export BUN_JSC_useWarmUpMarkedBlocks=false
fi
exec bun "$@" "$(dirname "$0")/src/index.ts"
