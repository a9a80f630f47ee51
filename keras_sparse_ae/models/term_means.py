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

    Each step can carry a `weight`, its batch size, as Keras weights its own
    `loss` metric: the terms of an epoch whose last batch is shorter then
    still add up to `loss`.

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
    >>> metric.reset_state()
    >>> metric.update_state([1.0, 1.0], weight=3)
    >>> metric.update_state([5.0, 1.0], weight=1)
    >>> {k: float(v) for k, v in metric.result().items()}
    {'a': 2.0, 'b': 1.0}
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

    def update_state(self, values, weight=None):
        """Adds one value per name (`None`: that term was not computed).

        Args:
            values: one scalar (or `None`) per name.
            weight: this step's weight (its batch size), or `None` for 1.
        """
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
        counts = ops.convert_to_tensor(present, dtype=self.dtype)
        if weight is not None:
            weight = ops.cast(weight, self.dtype)
            stacked = stacked * weight
            counts = counts * weight
        self.total.assign_add(stacked)
        self.count.assign_add(counts)

    def result(self):
        if not self.names:
            return {}
        means = ops.divide_no_nan(self.total, self.count)
        return dict(zip(self.names, ops.unstack(means, num=len(self.names))))

    def get_config(self):
        return {**super().get_config(), "names": list(self.names)}
