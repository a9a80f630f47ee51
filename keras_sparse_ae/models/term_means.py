"""`TermMeans`: the per-epoch means of every loss term, in one metric."""

import keras
from keras import ops


class TermMeans(keras.metrics.Metric):
    """Running means of several named scalars, kept in two vectors.

    `Autoencoder` reports the reconstruction and every penalty term as its
    own entry of `History`. One `keras.metrics.Mean` per term costs about a
    dozen graph operations per step each (variable reads, adds and writes);
    with ten terms that was a third of the deep SAE's extra operations over
    a plain Keras model. This metric keeps one vector of totals and one of
    counts, so a step adds three or four operations whatever the number of
    terms. `result()` is a dict `{name: mean}`, which Keras adds to the logs
    entry by entry, so `History` is the same as with separate trackers.

    Args:
        names: the terms' names, in order.
        name: the metric's own name (not in the logs).
        dtype: the accumulators' dtype (default float32).

    Example:

    >>> metric = TermMeans(["a", "b"])
    >>> metric.update_state([1.0, 2.0])
    >>> metric.update_state([3.0, None])  # "b" not seen this step
    >>> {k: float(v) for k, v in metric.result().items()}
    {'a': 2.0, 'b': 2.0}
    """

    def __init__(self, names, name="term_means", dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        self.names = tuple(names)
        size = (len(self.names),)
        self.total = self.add_variable(
            shape=size, initializer="zeros", dtype=self.dtype, name="total"
        )
        self.count = self.add_variable(
            shape=size, initializer="zeros", dtype=self.dtype, name="count"
        )

    def update_state(self, values):
        """Adds one value per name (`None`: that term was not computed)."""
        if len(values) != len(self.names):
            raise ValueError(
                f"Invalid value for argument `values`. Expected {len(self.names)} "
                f"values (for {list(self.names)}). Received: {len(values)} values"
            )
        present = [value is not None for value in values]
        if not self.names:
            return
        stacked = ops.stack(
            [
                ops.zeros((), self.dtype)
                if value is None
                else ops.cast(ops.reshape(value, ()), self.dtype)
                for value in values
            ]
        )
        self.total.assign_add(stacked)
        self.count.assign_add(ops.convert_to_tensor(present, dtype=self.dtype))

    def result(self):
        if not self.names:
            return {}
        means = ops.divide_no_nan(self.total, self.count)
        return dict(zip(self.names, ops.unstack(means, num=len(self.names))))

    def get_config(self):
        return {**super().get_config(), "names": list(self.names)}
