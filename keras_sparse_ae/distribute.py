"""Batch statistics over the global batch under data-parallel training.

Data parallelism splits every batch between replicas. A loss that is a mean
of per-sample values needs nothing more: with equal parts, each replica's
mean, scaled by Keras, adds up to the global mean's gradient. A penalty that
is a *nonlinear* function of a batch statistic does: the KL sparsity
`KL(rho || mean_i h_i)`, the layer sparsity `(mean(h) - p)**2` and the
participation trace's update all need the mean over the whole batch, not
over one replica's part of it.

- `tf.distribute` (TensorFlow backend, e.g. `MirroredStrategy`): each replica
  runs the step on its part of the batch; `batch_mean` adds up the replicas'
  sums and counts (`ReplicaContext.all_reduce`, which is differentiable), so
  every replica gets the global mean.
- `keras.distribution.DataParallel` (JAX backend): the step is compiled once
  for the global batch, sharded across devices, and `keras.ops.mean` already
  is the global mean.
- Anything else (one device, the PyTorch backend): `keras.ops.mean`.
"""

from keras import backend, ops


def in_strategy_scope():
    """Whether a (non-default) `tf.distribute` strategy is in scope.

    `False` on other backends. Inside a strategy's scope our builders compile
    with one step per call and without XLA (see `models.stack` and `config`).
    """
    if backend.backend() != "tensorflow":
        return False
    import tensorflow as tf  # the backend in use: already imported

    return tf.distribute.has_strategy()


def _replica_context():
    """The `tf.distribute` replica context of a step on several replicas.

    `None` outside a multi-replica step: other backends, the default
    strategy, one replica, or cross-replica context (e.g. model building
    inside `strategy.scope()`).
    """
    if backend.backend() != "tensorflow":
        return None
    import tensorflow as tf  # the backend in use: already imported

    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return None
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync < 2:
        return None
    return context


def replicas_in_sync():
    """Number of replicas of the current `tf.distribute` step (else 1)."""
    context = _replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def replica_id():
    """Index of the replica tracing the current step: 0 without replicas.

    Under `MirroredStrategy` the replicas trace one step in threads that
    take turns at every cross-replica reduction (such as `batch_mean`'s), so
    Python state written during a forward pass must be kept per replica;
    `keras_sparse_ae.layers.PenaltyLayer` keys its records by this index.
    """
    context = _replica_context()
    if context is None:
        return 0
    import tensorflow as tf

    index = tf.get_static_value(context.replica_id_in_sync_group)
    return 0 if index is None else int(index)


def batch_mean(x, axis=0):
    """Mean of `x` over the global batch, across data-parallel replicas.

    In a `tf.distribute` step on several replicas this is
    `all_reduce_sum(sum(x, axis)) / all_reduce_sum(count)`: exact also when
    the replicas hold unequal parts of the batch (the last batch of an
    epoch), and differentiable. Everywhere else it is exactly
    `keras.ops.mean(x, axis=axis)`, so single-device results do not change.

    Args:
        x: a tensor whose first axis is the batch.
        axis: `0` for a per-feature mean over the batch, or `None` for the
            mean over the batch and every feature.

    Returns:
        The mean, of shape `x.shape[1:]` (`axis=0`) or `()` (`axis=None`).

    Example:

    >>> import numpy as np
    >>> x = np.array([[0.0, 1.0], [1.0, 1.0]], dtype="float32")
    >>> [float(v) for v in batch_mean(x)]
    [0.5, 1.0]
    >>> float(batch_mean(x, axis=None))
    0.75
    """
    context = _replica_context()
    if context is None:
        return ops.mean(x, axis=axis)
    x = ops.convert_to_tensor(x)
    total = ops.sum(x, axis=axis)
    count = ops.size(x) if axis is None else ops.shape(x)[axis]
    count = ops.cast(count, total.dtype)
    # The count has no gradient: reduced on its own, it stays out of the
    # differentiated all-reduce of the sums.
    return context.all_reduce("SUM", total) / context.all_reduce("SUM", count)
