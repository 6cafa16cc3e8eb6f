#!/usr/bin/env bash
# scripts/check-layers on planted trees: each forbidden include is named with
# its file and line, each allowed one passes.
# Usage: check-layers-test.sh CHECK_LAYERS_SCRIPT
set -uo pipefail
check=$1
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
failures=0
expect() { # expect DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}
plant() { # plant FILE LINE...
  mkdir -p "$tree/$(dirname "$1")"
  local file=$1
  shift
  printf '%s\n' "$@" > "$tree/$file"
}

plant daemon/core/archive/a.cpp '#include "daemon/core/result.hpp"' '#include <string>'
plant drivers/dns/d.cpp '#include "drivers/fs/files.hpp"' '#include "daemon/core/result.hpp"'
plant daemon/device/agent/g.cpp '#include "drivers/dns/d.hpp"' '#include "config/config.hpp"'
plant daemon/issuer/serve/s.cpp '#include "drivers/fs/files.hpp"' '#include "daemon/issuer/registry/r.hpp"'
plant daemon/cli/issuer/c.cpp '#include "daemon/device/agent/g.hpp"' '#include "daemon/issuer/serve/s.hpp"'
plant daemon/device/main/m.cpp '#include "daemon/issuer/serve/s.hpp"'
out=$("$check" "$tree" 2>&1)
expect "a tree that follows the rules passes" test $? -eq 0
expect "the clean run says how many files it read" grep -q '6 files follow the layer rules' <<<"$out"

plant daemon/core/verify/v.cpp '// the core' '#include "daemon/core/result.hpp"' '  #  include "daemon/device/state/device_state.hpp"'
plant drivers/ntp/n.hpp '#include "config/config.hpp"'
plant daemon/issuer/ca/i.cpp '#include "daemon/device/log/journal.hpp"' '#include "drivers/dns/d.hpp"'
plant daemon/device/state/t.cpp '#include "daemon/issuer/registry/r.hpp"'
out=$("$check" "$tree" 2>&1)
rc=$?
echo "$out"
expect "planted violations fail the check" test "$rc" -eq 1
expect "core -> device is named with file and line" \
  grep -qF 'daemon/core/verify/v.cpp:3: includes "daemon/device/state/device_state.hpp"' <<<"$out"
expect "a driver -> config is named" grep -qF 'drivers/ntp/n.hpp:1: includes "config/config.hpp"' <<<"$out"
expect "issuer -> device is named" grep -qF 'daemon/issuer/ca/i.cpp:1: includes "daemon/device/log/journal.hpp"' <<<"$out"
expect "issuer -> a driver other than fs is named" grep -qF 'daemon/issuer/ca/i.cpp:2: includes "drivers/dns/d.hpp"' <<<"$out"
expect "device -> issuer is named" grep -qF 'daemon/device/state/t.cpp:1: includes "daemon/issuer/registry/r.hpp"' <<<"$out"
expect "exactly the five planted includes are reported" grep -q '^check-layers: 5 include(s) break' <<<"$out"

"$check" "$tree/nowhere" > /dev/null 2>&1
expect "a missing source root is an error of its own (2)" test $? -eq 2
exit $((failures > 0))
