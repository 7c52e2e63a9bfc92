#!/usr/bin/env bash
# Install sertk and its stack into tools/venv. Idempotent: a rerun with unchanged
# requirements is a no-op (a stamp file records the hash of what was installed).
#   PYTHON=python3.11 tools/install.sh      choose the interpreter (3.9-3.12)
#   SERTK_VENV=/some/dir tools/install.sh   keep the venv elsewhere (tools/venv links to it)
#     (clones sharing one venv share one editable sertk: the last to run install.sh owns it,
#     and the others' recipes refuse to start, saying so, until install.sh runs there again)
set -euo pipefail
tools=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "${tools}")
venv=${tools}/venv
python=${PYTHON:-python3}

if [ -n "${SERTK_VENV:-}" ] && [ ! -e "${venv}" ]; then
  mkdir -p "${SERTK_VENV}"
  ln -s "${SERTK_VENV}" "${venv}"
fi
stamp=${venv}/.sertk-stamp
want=$(cat "${tools}/requirements.txt" "${root}/setup.py" | sha256sum | cut -d' ' -f1)
# sertk must be installed (editable) from THIS checkout: a venv reused from another clone
# would otherwise run that clone's code.
ours() { "${tools}/venv_is_ours.sh" >/dev/null 2>&1; }
if [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${want}" ]; then
  ours || "${venv}/bin/pip" install -q --no-deps -e "${root}"
  ours && { echo "tools/venv is up to date"; exit 0; }
fi
# venv refuses to create into a symlink ("Unable to create directory"): give it the real path.
[ -x "${venv}/bin/python" ] || "${python}" -m venv "$(readlink -f "${venv}")"
# pip >= 26 refuses espnet's transitive git-URL extra (ci_sdr -> padertorch); 25.x installs it.
"${venv}/bin/pip" install -q "pip>=23,<26" wheel "setuptools>=64"
"${venv}/bin/pip" install -r "${tools}/requirements.txt"
"${venv}/bin/pip" install -q --no-deps -e "${root}"
"${venv}/bin/python" -c "import s3prl.hub, espnet2, sertk.cli" >/dev/null 2>&1 \
  || { echo "install.sh: the stack does not import; see the errors above" >&2; exit 1; }
echo "${want}" > "${stamp}"
echo "installed sertk into ${venv}"
