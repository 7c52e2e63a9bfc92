#!/usr/bin/env bash
# Download a zip once and unpack it: utils/download_zip.sh <url> <dest_dir>
# <dest_dir>/.complete marks a finished download; a rerun is a no-op, an interrupted one restarts.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 <url> <dest_dir>" >&2; exit 1; }
url=$1; dest=$2
[ -f "${dest}/.complete" ] && exit 0
mkdir -p "${dest}"
echo "Downloading ${url} -> ${dest}"
if command -v wget >/dev/null; then wget -q -O "${dest}.zip" "${url}"
else curl -fsSL -o "${dest}.zip" "${url}"; fi
python -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "${dest}.zip" "${dest}"
touch "${dest}/.complete"
