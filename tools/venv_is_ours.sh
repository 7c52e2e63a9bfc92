#!/usr/bin/env bash
# Exit 0 when tools/venv imports sertk from this checkout. A venv shared between clones
# (SERTK_VENV) holds one editable install: another clone's install.sh repoints it, and this
# checkout would then run that clone's code. Otherwise print where sertk comes from; exit 1.
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd / && exec "${root}/tools/venv/bin/python" - "${root}" <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("sertk")  # finds it without running its code
where = os.path.realpath(spec.origin) if spec and spec.origin else "nowhere (not installed)"
ours = where.startswith(os.path.realpath(sys.argv[1]) + os.sep)
if not ours:
    print(where)
sys.exit(not ours)
PY
