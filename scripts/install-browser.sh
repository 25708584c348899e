#!/usr/bin/env bash
# Install headless Chromium, its WebDriver and CJK fonts from Debian's packages when missing
# (the browser test of the page at /; no browser downloads). CI machines start bare.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
echo "installing chromium, chromium-driver, fonts-noto-cjk (Debian packages)" >&2
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk) >&2
