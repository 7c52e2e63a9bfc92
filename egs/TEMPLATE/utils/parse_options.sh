#!/usr/bin/env bash
# Sourced by scripts: turns `--some-name value` / `--some_name value` into some_name=value for
# every variable the script already defines; `--help` prints $help_message.
# (Same calling convention as Kaldi's parse_options.sh; written for sertk.)
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) echo "${help_message:-no help}"; exit 0 ;;
    --*=*) _name=${1%%=*}; _val=${1#*=}; shift ;;
    --*) _name=$1; [ $# -ge 2 ] || { echo "$0: option $1 needs a value" >&2; exit 1; }; _val=$2; shift 2 ;;
    *) break ;;
  esac
  _name=${_name#--}; _name=${_name//-/_}
  if ! declare -p "${_name}" >/dev/null 2>&1; then
    echo "$0: unknown option --${_name} (see --help)" >&2; exit 1
  fi
  printf -v "${_name}" '%s' "${_val}"
done
unset _name _val
