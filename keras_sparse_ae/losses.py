"""Loss terms in `keras.ops`: reconstruction errors and sparsity penalties.

One function per formula, shared by the layers, the regularizers and the
models, so that every place that computes a term computes it the same way.
The NumPy twins live in `keras_sparse_ae.reference`; the parity tests check
each function here against its twin.

All functions compute in float32 (or the input's dtype if wider), whatever
the layer's compute dtype, so that penalties stay accurate under the
`mixed_float16` and `mixed_bfloat16` policies.

The batch statistics that a penalty depends on nonlinearly (the KL
sparsity's per-unit mean, the layer sparsity's mean activity) and the trace
update's per-unit mean are taken over the global batch under data-parallel
training (`keras_sparse_ae.distribute.batch_mean`). The other terms are
means of per-sample values: Keras' loss scaling adds their per-replica
values up to the global one when the replicas get equal parts of a batch.
"""

import math

from keras import backend, ops

from keras_sparse_ae import distribute

#: Clip applied to the batch-mean activity before the KL divergence, so the
#: value and its gradient stay finite when a unit is always 0 or always 1.
KL_EPSILON = 1e-6

RECONSTRUCTIONS = ("mse", "l2", "bce")


def _float(x):
    x = ops.convert_to_tensor(x)
    if backend.standardize_dtype(x.dtype) not in ("float32", "float64"):
        x = ops.cast(x, "float32")
    return x


def _mean(x, axis=None):
    """`ops.mean`, kept in float64 for float64 inputs on every backend.

    Keras' type promotion turns 64-bit results into 32-bit ones on every
    backend but TensorFlow (`BIT64_TO_BIT32_DTYPE` in
    `keras/src/backend/common/dtypes.py`), so on JAX (with `jax_enable_x64`)
    and PyTorch `ops.mean` of a float64 tensor accumulates in float32.
    `ops.sum` keeps the dtype: a float64 sum divided by the count does not
    lose precision. Every other case (TensorFlow, float32 and narrower
    inputs, symbolic shapes) is `ops.mean` itself.
    """
    shape = tuple(x.shape)
    if (
        backend.backend() == "tensorflow"
        or backend.standardize_dtype(x.dtype) != "float64"
        or None in shape  # a symbolic batch: only the output spec matters
    ):
        return ops.mean(x, axis=axis)
    count = math.prod(shape) if axis is None else shape[axis]
    return ops.sum(x, axis=axis) / count


def _batch_mean(x, axis=None):
    """`_mean` over the global batch, across data-parallel replicas.

    For the batch statistics a penalty depends on nonlinearly (and the
    trace): under `tf.distribute` with several replicas it is
    `keras_sparse_ae.distribute.batch_mean`, a mean over every replica's
    part of the batch; everywhere else it is `_mean` (on TensorFlow without
    replicas both are `ops.mean`).
    """
    if backend.backend() == "tensorflow":
        return distribute.batch_mean(x, axis=axis)
    return _mean(x, axis=axis)


# === Reconstruction ===


def mse(x, x_hat):
    """Mean squared error over the batch and the features."""
    x, x_hat = _float(x), _float(x_hat)
    return _mean(ops.square(x_hat - ops.cast(x, x_hat.dtype)))


def l2_per_input(x, x_hat):
    """Lesson 000's `l2_loss(x_hat - x) / n_inputs`, made per sample.

    `0.5 * sum_j (x_hat_ij - x_ij)**2 / n_inputs`, averaged over the batch
    (the lesson summed over the batch, so its loss grew with batch size).
    Equals `0.5 * mse`.
    """
    x, x_hat = _float(x), _float(x_hat)
    return 0.5 * mse(x, x_hat)


def bce(x, x_hat, epsilon=1e-7):
    """Binary cross-entropy between targets in [0, 1] and outputs in (0, 1).

    Mean over the batch and the features; `x_hat` is clipped to
    `[epsilon, 1 - epsilon]` (in float32, `1 - 1e-7` rounds to
    `1 - 2**-23`, as in Keras' own binary cross-entropy).
    """
    x, x_hat = _float(x), _float(x_hat)
    x = ops.cast(x, x_hat.dtype)
    x_hat = ops.clip(x_hat, epsilon, 1.0 - epsilon)
    return -_mean(x * ops.log(x_hat) + (1.0 - x) * ops.log(1.0 - x_hat))


def reconstruction_loss(name):
    """Returns the reconstruction function called `name` (see RECONSTRUCTIONS)."""
    return {"mse": mse, "l2": l2_per_input, "bce": bce}[name]


# === Activity penalties ===


def activity_penalty(h, kind="l1", reduction="mean"):
    """L1 or L2 penalty on activations (without its weight).

    `kind="l1"`: `mean(|h|)` (lesson 004) or `sum(|h|)`;
    `kind="l2"`: `mean(h**2)` or `sum(h**2)` (Keras' own L2 form, lesson 002).
    The mean is over the batch and the units.
    """
    h = _float(h)
    values = ops.abs(h) if kind == "l1" else ops.square(h)
    return _mean(values) if reduction == "mean" else ops.sum(values)


def kl_divergence(target, rho_hat):
    """`KL(target || rho_hat)` between Bernoulli distributions, per unit."""
    return target * ops.log(target / rho_hat) + (1.0 - target) * ops.log(
        (1.0 - target) / (1.0 - rho_hat)
    )


def kl_sparsity_penalty(h, target, reduction="sum", epsilon=KL_EPSILON):
    """KL sparsity penalty (without its weight), lessons 001 and 003.

    `rho_hat_j = mean_i h_ij`, clipped to `[epsilon, 1 - epsilon]`; the
    penalty is `sum_j KL(target || rho_hat_j)` (or the mean over units).
    """
    h = _float(h)
    rho_hat = ops.clip(_batch_mean(h, axis=0), epsilon, 1.0 - epsilon)
    kl = kl_divergence(target, rho_hat)
    return ops.sum(kl) if reduction == "sum" else _mean(kl)


# === Participation (lesson 000) ===


def sigmoid_shift(participation, k):
    """The shift `x_s = ln((1 - p) / p) / k` that makes `sigmoid_k(-x_s) = p`."""
    return math.log((1.0 - participation) / participation) / k


def unit_means(h):
    """`mean_i h_ij`: each unit's mean activity over the (global) batch."""
    return _batch_mean(_float(h), axis=0)


def layer_sparsity_penalty(h, participation, means=None):
    """`(mean_i mean_j h_ij - p)**2`: the layer's mean activity against p.

    `means`: `unit_means(h)` if already computed (the layer's mean is their
    mean: every unit sees the same samples), saving a pass over `h`.
    """
    if means is None:
        return ops.square(_batch_mean(_float(h)) - participation)
    return ops.square(_mean(means) - participation)


def participation_target(trace, participation, k):
    """The per-unit target of the participation penalty.

    `sigmoid(k * (p - trace - x_s))`: close to 0 for a unit whose trace is
    above p (too active), close to 1 below p, and exactly p at `trace == p`.
    """
    return ops.sigmoid(k * (participation - trace - sigmoid_shift(participation, k)))


def participation_penalty(h, trace, participation, gamma, k):
    """Lesson 000's participation penalty in its "stable minima" form.

    The lesson writes, with `root_j = -(gamma * trace_j - p) / (1 - gamma)`
    and `s_j = participation_target(trace_j)`:

        mean_i [ sum_j (gamma*trace_j + (1-gamma)*h_ij - p
                        + (1-gamma)*(root_j - s_j))**2 / n ]

    `gamma*trace_j - p + (1-gamma)*root_j` is exactly 0, so this equals
    `(1 - gamma)**2 * mean_ij (h_ij - s_j)**2`, which is what we compute
    (it avoids the cancellation of two terms of size `1 / (1 - gamma)`).
    `trace` is the trace before this batch's update.
    """
    h = _float(h)
    target = participation_target(ops.cast(trace, h.dtype), participation, k)
    return (1.0 - gamma) ** 2 * _mean(ops.square(h - target))


def binary_penalty(h):
    """`mean_ij h_ij**2 (h_ij - 1)**2`: pushes activations towards 0 or 1.

    Computed as `mean_ij (h_ij (h_ij - 1))**2`, one operation less.
    """
    h = _float(h)
    return _mean(ops.square(h * (h - 1.0)))


def trace_update(trace, h, gamma, means=None):
    """`gamma * trace + (1 - gamma) * mean_i h_i`: one EMA step of the trace.

    `means`: `unit_means(h)` if already computed.
    """
    if means is None:
        means = unit_means(h)
    return gamma * trace + (1.0 - gamma) * ops.cast(means, trace.dtype)


# === AuxK ===


def auxk_loss(x, x_hat, pre_activations, dead, decoder_kernel, aux_k):
    """OpenAI's auxiliary loss: the dead units' top-`aux_k` reconstruct the residual.

    With the residual `e = stop_gradient(x - x_hat)` and `z` the ReLU of the
    `aux_k` largest pre-activations among the dead units of each sample
    (0 elsewhere; fewer when fewer units are dead; ties at the `aux_k`-th
    value all kept),

        auxk = mean_ij (e_ij - (z W_dec)_ij)**2    if any unit is dead, else 0

    `W_dec` being the decoder's (units, features) kernel, without its bias.
    Its gradient reaches only the dead units' encoder weights and their
    decoder rows, giving them a signal to come back (Gao et al., "Scaling
    and evaluating sparse autoencoders", 2024, section A.2; their version
    divides by the residual's variance).

    Args:
        x: (batch, features) targets.
        x_hat: (batch, features) reconstructions.
        pre_activations: (batch, units) the code's pre-activations.
        dead: (units,) booleans, the dead units.
        decoder_kernel: (units, features) decoder kernel.
        aux_k: int >= 1, at most `units`.

    Returns:
        A float32 scalar.
    """
    residual = ops.stop_gradient(_float(x) - _float(x_hat))
    pre = _float(pre_activations)
    dtype = backend.result_type(residual.dtype, pre.dtype)
    residual, pre = ops.cast(residual, dtype), ops.cast(pre, dtype)
    dead = ops.broadcast_to(ops.convert_to_tensor(dead, "bool"), ops.shape(pre))
    masked = ops.where(dead, pre, ops.full_like(pre, -math.inf))
    values, _ = ops.top_k(masked, aux_k, sorted=False)
    kth = ops.min(values, axis=-1, keepdims=True)
    keep = ops.logical_and(dead, ops.greater_equal(pre, kth))
    codes = ops.where(keep, ops.relu(pre), ops.zeros_like(pre))
    reconstruction = ops.matmul(codes, ops.cast(decoder_kernel, codes.dtype))
    loss = _mean(ops.square(residual - reconstruction))
    return ops.where(ops.any(dead), loss, ops.zeros_like(loss))
