"""NumPy (float64) reference of every loss term.

Written independently of `keras_sparse_ae.losses` and as close to the
lessons' own formulas as possible (the participation term is the lesson's
literal form, not the simplified one the layers use), so that agreement
between the two is evidence, not an echo. Every function takes and returns
NumPy values; `h` is a (batch, units) array of activations.
"""

import numpy as np

KL_EPSILON = 1e-6


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def sigmoid(z):
    """Logistic function `1 / (1 + exp(-z))`, accurate in relative terms.

    `exp` is only taken of `-|z|`, so it never overflows, and tiny values
    (e.g. `sigmoid(-40)` = 4.2e-18) keep their relative precision.
    """
    z = _f64(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def relu(z):
    """`max(0, z)`."""
    return np.maximum(_f64(z), 0.0)


# === Reconstruction ===


def mse(x, x_hat):
    """`mean_ij (x_hat_ij - x_ij)**2` over the batch and the features."""
    return float(np.mean((_f64(x_hat) - _f64(x)) ** 2))


def l2_loss_per_input(x, x_hat, reduction="mean"):
    """Lesson 000's reconstruction error, `l2_loss(x_hat - x) / n_inputs`.

    `tf.nn.l2_loss(d) = sum(d**2) / 2`. The lesson summed over the batch
    (`reduction="sum"`, its reported test loss of 75.36 is such a sum over
    10,000 images); `reduction="mean"` divides by the batch size, which is
    what the library trains with (`reconstruction="l2"`).
    """
    x, x_hat = _f64(x), _f64(x_hat)
    total = np.sum((x_hat - x) ** 2) / 2.0 / x.shape[1]
    return float(total if reduction == "sum" else total / x.shape[0])


def bce(x, x_hat, epsilon=1e-7):
    """Binary cross-entropy, mean over batch and features, `x_hat` clipped."""
    x, x_hat = _f64(x), np.clip(_f64(x_hat), epsilon, 1.0 - epsilon)
    return float(-np.mean(x * np.log(x_hat) + (1.0 - x) * np.log(1.0 - x_hat)))


# === Activity penalties (lessons 002 and 004) ===


def activity_penalty(h, kind="l1", weight=1.0, reduction="mean"):
    """`weight * mean(|h|)` (l1) or `weight * mean(h**2)` (l2); or a sum."""
    h = _f64(h)
    values = np.abs(h) if kind == "l1" else h**2
    return float(weight * (np.mean(values) if reduction == "mean" else np.sum(values)))


# === KL sparsity (lessons 001 and 003) ===


def kl_sparsity_penalty(h, target, weight=1.0, reduction="sum", epsilon=KL_EPSILON):
    """`weight * sum_j KL(target || rho_hat_j)`, `rho_hat_j = mean_i h_ij`.

    `KL(r || q) = r log(r/q) + (1-r) log((1-r)/(1-q))`, with `rho_hat`
    clipped to `[epsilon, 1 - epsilon]`; `reduction="mean"` averages over
    units instead of summing.
    """
    rho_hat = np.clip(np.mean(_f64(h), axis=0), epsilon, 1.0 - epsilon)
    r = float(target)
    kl = r * np.log(r / rho_hat) + (1.0 - r) * np.log((1.0 - r) / (1.0 - rho_hat))
    return float(weight * (np.sum(kl) if reduction == "sum" else np.mean(kl)))


# === Lesson 000: sparsity, participation, binary, trace ===


def layer_sparsity_penalty(h, sparsity):
    """`(mean_i (sum_j h_ij / n) - p)**2` with `p = 1 - sparsity` (lesson 000)."""
    h = _f64(h)
    p = 1.0 - sparsity
    return float(np.mean(np.sum(h, axis=1) / h.shape[1] - p) ** 2)


def sigmoid_shift(c, k=100.0):
    """Lesson 000's `sshift`: `x_s = ln((1 - c) / c) / k`."""
    return np.log((1.0 - c) / c) / k


def shifted_sigmoid(x, x_s, k=100.0):
    """Lesson 000's `sigmoid(x, x_s, k) = 1 / (1 + exp(-k (x - x_s)))`."""
    return sigmoid(k * (_f64(x) - x_s))


def participation_penalty(h, trace, sparsity, gamma=0.99, k=100.0):
    """Lesson 000's participation penalty, "stable minima" form, as written.

    With `p = 1 - sparsity`, `root = -(gamma * trace - p) / (1 - gamma)` and
    `s = shifted_sigmoid(p - trace, sigmoid_shift(p, k), k)`:

        mean_i [ sum_j (gamma*trace_j + (1-gamma)*h_ij - p
                        + (1-gamma)*(root_j - s_j))**2 / n ]

    `trace` is the trace before this batch's update.
    """
    h, trace = _f64(h), _f64(trace)
    p = 1.0 - sparsity
    n = h.shape[1]
    root = -1.0 / (1.0 - gamma) * (gamma * trace - p)
    s = shifted_sigmoid(p - trace, sigmoid_shift(p, k), k)
    inner = gamma * trace + (1.0 - gamma) * h - p + (1.0 - gamma) * (root - s)
    return float(np.mean(np.sum(inner**2, axis=1) / n))


def binary_penalty(h):
    """`mean_ij h_ij**2 (h_ij - 1)**2` (lesson 000)."""
    h = _f64(h)
    return float(np.mean(h**2 * (h - 1.0) ** 2))


def trace_update(trace, h, gamma=0.99):
    """One EMA step: `gamma * trace + (1 - gamma) * mean_i h_i`."""
    return gamma * _f64(trace) + (1.0 - gamma) * np.mean(_f64(h), axis=0)


def participation_trace_penalties(
    h, trace, sparsity, gamma=0.99, alpha_s=1.0, alpha_p=1.0, alpha_b=1.0, k=100.0
):
    """The weighted terms one `ParticipationTrace` adds, and its next trace.

    Returns:
        `(terms, new_trace)`: `terms` maps "sparsity", "participation" and
        "binary" to `alpha * penalty` for each weight > 0; `new_trace` is the
        trace after a training step on `h`.
    """
    terms = {}
    if alpha_s > 0:
        terms["sparsity"] = alpha_s * layer_sparsity_penalty(h, sparsity)
    if alpha_p > 0:
        terms["participation"] = alpha_p * participation_penalty(
            h, trace, sparsity, gamma, k
        )
    if alpha_b > 0:
        terms["binary"] = alpha_b * binary_penalty(h)
    return terms, trace_update(trace, h, gamma)
