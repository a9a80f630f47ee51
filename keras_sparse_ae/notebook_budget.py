"""The compute budget of the teaching notebooks: full or small.

The notebooks in `notebooks/` train real models. Stored with their outputs,
they are run at the full budget; CI runs every notebook again at a small
budget (fewer epochs, fewer samples) so that each one finishes in well under
three minutes on two CPU cores. The budget comes from the environment
variable `KERAS_SPARSE_AE_NOTEBOOK_BUDGET` (`full`, the default, or
`small`), and a notebook asks for its sizes with `pick`:

>>> import os
>>> os.environ["KERAS_SPARSE_AE_NOTEBOOK_BUDGET"] = "small"
>>> pick(full=40, small=3)
3
>>> del os.environ["KERAS_SPARSE_AE_NOTEBOOK_BUDGET"]
>>> pick(full=40, small=3)
40
"""

import os

from keras_sparse_ae import _validation

ENV_VAR = "KERAS_SPARSE_AE_NOTEBOOK_BUDGET"
BUDGETS = ("full", "small")


def budget():
    """The budget named by `KERAS_SPARSE_AE_NOTEBOOK_BUDGET`: `full` or `small`.

    Unset or empty means `full`. Any other value raises a `ValueError`
    before a notebook does any work.
    """
    value = os.environ.get(ENV_VAR, "").strip().lower() or "full"
    return _validation.check_choice(ENV_VAR, value, BUDGETS)


def is_small():
    """Whether the notebooks run at the small budget."""
    return budget() == "small"


def pick(full, small):
    """`full` at the full budget, `small` at the small one."""
    return small if is_small() else full
