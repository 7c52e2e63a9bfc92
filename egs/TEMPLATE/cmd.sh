# How the recipe runs its jobs. run.pl runs them on this machine; on a cluster set
# SERTK_CMD_BACKEND=slurm or sge and adjust the options (partition, memory, time). Recipes
# link this file; replace a recipe's link by a copy to give it its own options.
cmd_backend=${SERTK_CMD_BACKEND:-local}

case "${cmd_backend}" in
  local)
    export extract_cmd="run.pl"
    export train_cmd="run.pl"
    export decode_cmd="run.pl" ;;
  slurm)
    export extract_cmd="slurm.pl --mem 8G --time 4:00:00"
    export train_cmd="slurm.pl --mem 16G --time 24:00:00"
    export decode_cmd="slurm.pl --mem 8G --time 2:00:00" ;;
  sge)
    export extract_cmd="queue.pl --mem 8G"
    export train_cmd="queue.pl --mem 16G"
    export decode_cmd="queue.pl --mem 8G" ;;
  *) echo "cmd.sh: unknown cmd_backend ${cmd_backend}" >&2; return 1 ;;
esac
