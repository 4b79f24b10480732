#!/bin/sh
# Install the Debian packages kaeri builds against, when they are missing.
# Runs before every build; when all are present it costs one dpkg query.
PKGS="pkg-config libmicrohttpd-dev libwebsockets-dev libnghttp2-dev libssl-dev
zlib1g-dev libjansson-dev libcmocka-dev libcurl4-openssl-dev"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo -n"
else
    echo "kaeri: missing Debian packages:$missing" >&2
    echo "kaeri: run: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "kaeri: installing missing Debian packages:$missing" >&2
$sudo apt-get update -qq >&2 &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >&2 ||
    { echo "kaeri: apt-get failed; run: sudo apt-get install -y$missing" >&2; exit 1; }
