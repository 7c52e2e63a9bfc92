# Sourced by recipe scripts. find_conf conf/X.yaml prints the recipe's own conf/X.yaml if it
# exists, else TEMPLATE/conf/X.yaml: the shared defaults reach every recipe, a recipe's own
# file of the same name wins, and a path that is neither is left for the caller to refuse.
template_conf=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../conf" && pwd)
find_conf() {
  if [ -e "$1" ] || [ ! -e "${template_conf}/$(basename "$1")" ]; then echo "$1"
  else echo "${template_conf}/$(basename "$1")"; fi
}
