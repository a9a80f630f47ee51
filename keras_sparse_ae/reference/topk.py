"""NumPy (float64) twins of `TopK`, `BatchTopK`, dead-unit counts and AuxK."""

import numpy as np


def topk(z, k):
    """ReLU of each row's `k` largest entries (ties at the k-th all kept)."""
    z = np.asarray(z, dtype=np.float64)
    kth = np.sort(z, axis=-1)[:, -k][:, None]
    return np.where(z >= kth, np.maximum(z, 0.0), 0.0)


def batch_topk(z, k):
    """Training-mode BatchTopK: the `k * batch` largest entries of the batch.

    Returns:
        `(codes, kth)`: the codes and the `(k * batch)`-th largest entry.
    """
    z = np.asarray(z, dtype=np.float64)
    kth = np.sort(z, axis=None)[-k * z.shape[0]]
    return np.where(z >= kth, np.maximum(z, 0.0), 0.0), kth


def batch_topk_inference(z, threshold):
    """Inference-mode BatchTopK: entries above `threshold`, ReLU'd."""
    z = np.asarray(z, dtype=np.float64)
    return np.where(z > threshold, np.maximum(z, 0.0), 0.0)


def threshold_update(threshold, kth, momentum, first):
    """The BatchTopK threshold after one training batch.

    `max(kth, 0)` on the first batch, else
    `momentum * threshold + (1 - momentum) * max(kth, 0)`.
    """
    batch = max(float(kth), 0.0)
    return batch if first else momentum * threshold + (1.0 - momentum) * batch


def steps_since_active_update(steps, outputs, activity_threshold=0.0):
    """0 for units above `activity_threshold` on some sample, else `steps + 1`."""
    active = (np.asarray(outputs) > activity_threshold).any(axis=0)
    return np.where(active, 0.0, np.asarray(steps, dtype=np.float64) + 1.0)


def auxk_loss(x, x_hat, pre_activations, dead, decoder_kernel, aux_k):
    """`mean (x - x_hat - z_aux W_dec)**2`, 0 if no unit is dead.

    `z_aux` keeps, per sample, the ReLU of the `aux_k` largest
    pre-activations among the dead units (all dead ones if fewer; ties at
    the `aux_k`-th value kept).
    """
    x, x_hat, pre = (
        np.asarray(a, dtype=np.float64) for a in (x, x_hat, pre_activations)
    )
    dead = np.asarray(dead, dtype=bool)
    if not dead.any():
        return 0.0
    masked = np.where(dead, pre, -np.inf)
    kth = np.sort(masked, axis=-1)[:, -aux_k][:, None]
    codes = np.where(dead & (pre >= kth), np.maximum(pre, 0.0), 0.0)
    residual = x - x_hat
    return float(np.mean(np.square(residual - codes @ np.asarray(decoder_kernel))))


def topk_sae_loss(x, weights, k, dead, aux_weight, aux_k=None, batch=False):
    """Forward pass and loss terms of `topk_sae` / `batch_topk_sae` (training mode).

    Args:
        x: (batch, features) inputs.
        weights: `[W_e, b_e, W_d, b_d]`.
        k: the TopK `k`.
        dead: (units,) booleans, the dead units after this step's update.
        aux_weight: the AuxK weight.
        aux_k: `None` for `min(2 k, units)`.
        batch: BatchTopK instead of TopK.

    Returns:
        `{"loss", "reconstruction", "auxk"}` (`auxk` weighted).
    """
    w_e, b_e, w_d, b_d = (np.asarray(w, dtype=np.float64) for w in weights)
    x = np.asarray(x, dtype=np.float64)
    pre = x @ w_e + b_e
    codes = batch_topk(pre, k)[0] if batch else topk(pre, k)
    x_hat = codes @ w_d + b_d
    reconstruction = float(np.mean(np.square(x - x_hat)))
    aux_k = aux_k or min(2 * k, w_e.shape[1])
    auxk = aux_weight * auxk_loss(x, x_hat, pre, dead, w_d, aux_k)
    return {
        "loss": reconstruction + auxk,
        "reconstruction": reconstruction,
        "auxk": auxk,
    }
