#!/bin/sh
# Starts the gateway (`sh gateway/start.sh [bun options]`, from the repository root or the image's /app).
#
# JavaScriptCore's allocator keeps a thread that touches memory blocks ahead of use. Under load it was
# a fifth of the gateway's CPU per request (docs/bench.md, "JSC's warm-up thread"), work a proxy that
# allocates a little per request does not need. Bun takes the switch only as an environment variable
# read before it starts, and refuses to start at all on one its JavaScriptCore no longer knows; so it
# is set only if this Bun accepts it, and a Bun without it starts the gateway as before.
if BUN_JSC_useWarmUpMarkedBlocks=false bun -e '' >/dev/null 2>&1; then
  export BUN_JSC_useWarmUpMarkedBlocks=false
fi
exec bun "$@" gateway/src/index.ts
