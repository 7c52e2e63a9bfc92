"""Models register themselves by name; importing this package registers them all."""
from sertk.models.registry import MODELS, build_model, input_kind, model_args, register_model  # noqa: F401
from sertk.models import baseline  # noqa: F401  (registers "baseline")
from sertk.models import conformer_hier  # noqa: F401  (registers "conformer_hier")
from sertk.models import mmer  # noqa: F401  (registers "mmer")
from sertk.models import ptm_cnn  # noqa: F401  (registers "ptm_cnn")
from sertk.models import camulenet  # noqa: F401  (registers "camulenet")
from sertk.models import ecapa_mtl  # noqa: F401  (registers "ecapa_mtl")
from sertk.models import gmp_atl  # noqa: F401  (registers "gmp_atl")
from sertk.models import pooled  # noqa: F401  (registers "linear" and "pooled_mlp")
