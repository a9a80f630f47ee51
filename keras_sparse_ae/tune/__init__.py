"""Hyperparameter search with KerasTuner: spaces, HyperModels, search, report.

`python -m keras_sparse_ae.tune` is a thin command line over `run_search`.
"""

from keras_sparse_ae.tune.hypermodels import (
    AutoencoderHyperModel,
    DeepSAEHyperModel,
    check_history,
)
from keras_sparse_ae.tune.report import load_trials, read_results_csv, write_report
from keras_sparse_ae.tune.search import (
    OBJECTIVES,
    TUNERS,
    SearchFailedError,
    SearchResult,
    hyperband_budget,
    make_tuner,
    planned_trials,
    run_search,
)
from keras_sparse_ae.tune.spaces import (
    SEED000_SPACE,
    SPACES,
    Range,
    get_space,
    grid_size,
    load_space_file,
    model_parameters,
    parse_assignments,
    resolve_space,
)

__all__ = [
    "OBJECTIVES",
    "SEED000_SPACE",
    "SPACES",
    "TUNERS",
    "AutoencoderHyperModel",
    "DeepSAEHyperModel",
    "Range",
    "SearchFailedError",
    "SearchResult",
    "check_history",
    "get_space",
    "grid_size",
    "hyperband_budget",
    "load_space_file",
    "load_trials",
    "make_tuner",
    "model_parameters",
    "parse_assignments",
    "planned_trials",
    "read_results_csv",
    "resolve_space",
    "run_search",
    "write_report",
]
