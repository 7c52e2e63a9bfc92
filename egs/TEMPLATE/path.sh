# Sourced by every recipe script: activates sertk's environment (tools/venv).
SERTK_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
if [ -f "${SERTK_ROOT}/tools/venv/bin/activate" ]; then
  # shellcheck disable=SC1091
  . "${SERTK_ROOT}/tools/venv/bin/activate"
  if ! sertk_from=$("${SERTK_ROOT}/tools/venv_is_ours.sh"); then
    echo "path.sh: tools/venv runs sertk from ${sertk_from}, not from this checkout: rerun ${SERTK_ROOT}/tools/install.sh" >&2
    return 1 2>/dev/null || exit 1
  fi
elif ! command -v sertk >/dev/null; then
  echo "sertk is not installed: run ${SERTK_ROOT}/tools/install.sh first" >&2
  return 1 2>/dev/null || exit 1
fi
export PATH="${PWD}/utils:${PATH}"
export PYTHONUNBUFFERED=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
