"""Training-loop overhead of our models against a plain Keras autoencoder.

Same data, same shape (784-300-30-300-784, sigmoid units), batch 256:

- **same fit settings**: a plain Keras autoencoder
  (`Sequential`, `compile(optimizer="adam", loss="mse")`, `fit(X, X)`)
  against `build_deep_sae` with all three penalties (`alpha_s=1`,
  `alpha_p=100`, `alpha_b=0.5`) and a trace on every hidden layer, with
  MSE reconstruction like the plain model, both compiled with the same
  optimizer (Adam), `steps_per_execution` and `jit_compile` (`--settings`),
  fitted with the same batch size, epochs and shuffling. Target: deep SAE
  <= 1.10x plain.
- **builder defaults vs plain Keras defaults**: `build_deep_sae(hidden=(300,
  30), alpha_b=0.5)` exactly as the builder compiles it (Adam 3e-3, BCE,
  `steps_per_execution=10`, `jit_compile="auto"`), `fit(X,
  batch_size=256)`, against plain Keras' `compile(optimizer="adam",
  loss="mse")` + `fit(X, X, batch_size=256)`. Target: <= 0.80x.
- **zoo**: every zoo model at the same layer sizes where its builder takes
  them (`--zoo-shape same`; sigmoid where it takes `activation`), compiled
  with the first `--settings`, against plain Keras with the same settings.
- **profile**: variants of the deep SAE that remove one piece at a time
  (penalty terms, trace updates, metric trackers, the divergence guard's
  per-epoch snapshot, BCE instead of MSE) and variants of the plain model
  that change only the data feeding (no shuffling, a cached `tf.data`
  pipeline), plus the fixed costs of one `fit` call.

Every model is built and warmed up (one epoch, which includes tracing) first.
Then each repetition fits every model for `--epochs` epochs right beside a
fit of its reference (the plain Keras model of the same settings),
alternating which of the two goes first, in an order that rotates from one
repetition to the next: the machine is shared and noisy, and two fits
taken back to back see the same load. An `EpochTimer` records each epoch's
wall and CPU time (callbacks included); the first epoch of every `fit`
call is dropped. Reported: the median seconds per epoch over all calls;
`ratio`, the median (and range) of the paired ratios `median(model's
call) / median(reference's call beside it)`, on which the targets are
judged; the ratio of the fastest epochs of the two (contention only adds
time); and the paired ratio of CPU seconds (all threads), which other jobs
disturb least. When the three disagree, the machine was too busy.

Data (`--data digits`, the default): the 5,000 embedded MNIST digits
(`load_mnist_5k`) tiled to `--samples` rows, each further copy shifted by
one pixel (right, down, diagonally, ...) so that rows are not exact
duplicates; `--data random`: uniform random values in [0, 1).

    python bench/overhead.py            # the full measurement (~14 min)
    python bench/overhead.py --quick    # smoke run (seconds)

Prints Markdown tables and writes `bench/results/overhead.json`.
"""

import argparse
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_sparse_ae as ksae  # noqa: E402
from keras_sparse_ae.callbacks import DivergenceGuard  # noqa: E402
from keras_sparse_ae.layers import ParticipationTrace  # noqa: E402
from keras_sparse_ae.models.autoencoder import Autoencoder  # noqa: E402
from keras_sparse_ae.models.stack import mirrored_autoencoder  # noqa: E402

HIDDEN = (300, 30)
PENALTIES = dict(alpha_s=1.0, alpha_p=100.0, alpha_b=0.5)
SAME_TARGET = 1.10
DEFAULTS_TARGET = 0.80

#: Layer sizes (and activation) giving each zoo model the 784-300-30-300-784
#: sigmoid shape, or the nearest its builder allows.
SAME_SHAPE = {
    "deep_sae": dict(hidden=HIDDEN),
    "denoising": dict(hidden=HIDDEN, activation="sigmoid"),
    "kl_sae": dict(hidden=HIDDEN, activation="sigmoid"),
    "kl_sae_deep": dict(hidden=HIDDEN),
    "l1_sae": dict(code_size=30),
    "l2_sae": dict(units=30),
    "linear": dict(code_size=30),
    "plain": dict(hidden=HIDDEN),
    "stacked": dict(hidden=HIDDEN, activation="sigmoid"),
    "tied": dict(hidden=HIDDEN, activation="sigmoid"),
    "vae": dict(hidden=(300,), code_size=30, activation="sigmoid"),
}


# === Data ===


def augmented_digits(samples, seed=0):
    """`load_mnist_5k` tiled to `samples` rows; copy k shifted by one pixel."""
    x, _ = ksae.datasets.load_mnist_5k()
    images = x.reshape(-1, 28, 28)
    shifts = [(0, 0), (0, 1), (1, 0), (1, 1), (0, -1), (-1, 0), (-1, -1), (1, -1)]
    copies = []
    for k in range(math.ceil(samples / len(x))):
        dy, dx = shifts[k % len(shifts)]
        copies.append(np.roll(images, (dy, dx), axis=(1, 2)))
    out = np.concatenate(copies)[:samples].reshape(samples, -1)
    order = np.random.default_rng(seed).permutation(samples)
    return np.ascontiguousarray(out[order], dtype="float32")


def make_data(kind, samples, seed=0):
    if kind == "random":
        rng = np.random.default_rng(seed)
        return rng.random((samples, 784), dtype=np.float32)
    return augmented_digits(samples, seed)


# === Bench-only variants (the library is not changed) ===


class FrozenTrace(ParticipationTrace):
    """`ParticipationTrace` computing its penalties but never updating the trace."""

    def call(self, inputs, training=None):
        return super().call(inputs, training=False)


class NoTermMetrics(Autoencoder):
    """`Autoencoder` without its reconstruction and per-term trackers.

    The loss is the same; only Keras' own `loss` tracker is kept.
    """

    @property
    def metrics(self):
        ours = {id(self.term_tracker)}
        return [m for m in super().metrics if id(m) not in ours]

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        target = x if y is None else y
        total = self._reconstruction_fn(target, y_pred)
        for loss in self.losses:
            total = total + keras.ops.cast(
                self._aggregate_additional_loss(loss), total.dtype
            )
        return total


class NoSnapshotGuard(DivergenceGuard):
    """`DivergenceGuard` that keeps no copy of the variables (no restore)."""

    def _take_snapshot(self):
        return None


# === Models ===


def parse_setting(text):
    """`"10:false"` -> `(10, False)`; the second part is auto, true or false."""
    spe, _, jit = text.partition(":")
    jit = {"auto": "auto", "true": True, "false": False}[(jit or "auto").lower()]
    return int(spe), jit


def setting_name(setting):
    spe, jit = setting
    return f"spe={spe}, jit={str(jit).lower()}"


def compile_kwargs(setting):
    spe, jit = setting
    return dict(steps_per_execution=spe, jit_compile=jit)


def plain_keras(seed, setting=None):
    """The plain Keras autoencoder; `setting=None`: Keras' default compile."""
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
    if setting is None:
        model.compile(optimizer="adam", loss="mse")
    else:
        model.compile(optimizer="adam", loss="mse", **compile_kwargs(setting))
    return model


def recompile(model, setting):
    """Our model with the comparison's optimizer (Adam) and settings."""
    model.compile(optimizer="adam", **compile_kwargs(setting))
    return model


def deep_sae(seed, setting, reconstruction="mse", **overrides):
    options = dict(PENALTIES, reconstruction=reconstruction)
    options.update(overrides)
    model = ksae.build_deep_sae(784, hidden=HIDDEN, seed=seed, **options)
    return recompile(model, setting)


def deep_sae_layers(seed, setting, trace_cls=ParticipationTrace, model_cls=None):
    """The same-settings deep SAE built from parts, to swap one of them."""
    model = mirrored_autoencoder(
        784,
        HIDDEN,
        after_hidden=lambda _, name: [trace_cls(sparsity=0.75, **PENALTIES, name=name)],
        reconstruction="mse",
        seed=seed,
        name="deep_sae",
    )
    if model_cls is not None:
        model = model_cls(model.encoder, model.decoder, reconstruction="mse")
        model.build((None, 784))
    return recompile(model, setting)


class Candidate:
    """One model to time: how to build it and how to fit it."""

    def __init__(self, key, label, build, reference, *, keras_model=False, **fit):
        self.key = key
        self.label = label
        self.build = build
        self.reference = reference
        self.keras_model = keras_model
        self.fit = fit
        self.model = None


def candidates(args, x):
    settings = [parse_setting(s) for s in args.settings]
    first = settings[0]
    seed = args.seed
    found = []

    def add(*a, **k):
        found.append(Candidate(*a, **k))

    for setting in settings:
        tag = setting_name(setting)
        ref = f"plain_keras[{tag}]"
        add(
            ref,
            "plain Keras",
            lambda s=setting: plain_keras(seed, s),
            ref,
            keras_model=True,
        )
        add(
            f"deep_sae[{tag}]",
            "deep SAE, 3 penalties + traces (MSE)",
            lambda s=setting: deep_sae(seed, s),
            ref,
        )

    add(
        "plain_keras[default]",
        "plain Keras, `compile(optimizer='adam', loss='mse')`",
        lambda: plain_keras(seed),
        "plain_keras[default]",
        keras_model=True,
    )
    add(
        "deep_sae[builder]",
        "`build_deep_sae(hidden=(300, 30), alpha_b=0.5)` as built",
        lambda: ksae.build_deep_sae(784, hidden=HIDDEN, alpha_b=0.5, seed=seed),
        "plain_keras[default]",
    )

    ref = f"plain_keras[{setting_name(first)}]"
    if "zoo" in args.sections:
        for name in args.zoo:
            kwargs = SAME_SHAPE[name] if args.zoo_shape == "same" else {}
            add(
                f"zoo:{name}",
                name,
                lambda n=name, k=kwargs: recompile(
                    ksae.build(n, input_dim=784, seed=seed, **k), first
                ),
                ref,
            )

    if "profile" in args.sections:
        add(
            "profile:traces_only",
            "deep SAE, traces only (all alpha = 0)",
            lambda: deep_sae(seed, first, alpha_s=0.0, alpha_p=0.0, alpha_b=0.0),
            ref,
        )
        add(
            "profile:no_trace_update",
            "deep SAE, penalties, trace never updated",
            lambda: deep_sae_layers(seed, first, trace_cls=FrozenTrace),
            ref,
        )
        add(
            "profile:no_trackers",
            "deep SAE, no reconstruction/term trackers",
            lambda: deep_sae_layers(seed, first, model_cls=NoTermMetrics),
            ref,
        )
        add(
            "profile:no_snapshot",
            "deep SAE, guard without per-epoch snapshot",
            lambda: deep_sae(seed, first),
            ref,
            no_snapshot=True,
        )
        add(
            "profile:bce",
            "deep SAE, BCE reconstruction (builder default)",
            lambda: deep_sae(seed, first, reconstruction="bce"),
            ref,
        )
        add(
            "profile:plain_keras_noshuffle",
            "plain Keras, `shuffle=False`",
            lambda: plain_keras(seed, first),
            ref,
            keras_model=True,
            shuffle=False,
        )
        add(
            "profile:plain_keras_tfdata",
            "plain Keras, cached batched tf.data",
            lambda: plain_keras(seed, first),
            ref,
            keras_model=True,
            tf_data=True,
        )
        add(
            "profile:deep_sae_tfdata",
            "deep SAE, cached batched tf.data",
            lambda: deep_sae(seed, first),
            ref,
            tf_data=True,
        )
    return found


# === Measuring ===


def fit_once(candidate, x, epochs, batch_size, datasets):
    timer = _common.EpochTimer()
    callbacks = [timer]
    if candidate.fit.get("no_snapshot"):
        callbacks.append(NoSnapshotGuard())
    kwargs = dict(
        epochs=epochs,
        verbose=0,
        callbacks=callbacks,
        shuffle=candidate.fit.get("shuffle", True),
    )
    if candidate.fit.get("tf_data"):
        data = datasets["pairs" if candidate.keras_model else "x"]
        candidate.model.fit(data, **kwargs)
    elif candidate.keras_model:
        candidate.model.fit(x, x, batch_size=batch_size, **kwargs)
    else:
        candidate.model.fit(x, batch_size=batch_size, **kwargs)
    return timer.result(drop=0)


def tf_datasets(x, batch_size):
    import tensorflow as tf

    def cached(ds):
        return ds.batch(batch_size).cache().prefetch(tf.data.AUTOTUNE)

    return {
        "x": cached(tf.data.Dataset.from_tensor_slices(x)),
        "pairs": cached(tf.data.Dataset.from_tensor_slices((x, x))),
    }


def fixed_costs(x, seed):
    """Seconds of the per-`fit` work outside the epochs of our models."""
    model = ksae.build_deep_sae(784, hidden=HIDDEN, alpha_b=0.5, seed=seed)
    model.fit(x[:512], batch_size=256, epochs=1, verbose=0)  # builds optimizer

    def best_of(fn, n=5):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    guard = DivergenceGuard()
    guard.set_model(model)
    return {
        "check_data_x_s": best_of(lambda: model._check_array(x, "x", target=True)),
        "guard_snapshot_s": best_of(guard._take_snapshot),
        "variables_in_snapshot": len(model.variables) + len(model.optimizer.variables),
    }


def graph_ops(candidate, batch_size):
    """Operations in one traced training step (TensorFlow only), by kind.

    Traces the model's own `train_step` on a batch spec, after the warm-up
    built every variable. Returns `{"total": n, "matmul": n, ...}`, where
    the kinds are coarse groups of TensorFlow op types.
    """
    import tensorflow as tf

    spec = tf.TensorSpec((batch_size, 784), "float32")
    data = (spec, spec) if candidate.keras_model else (spec,)
    graph = tf.function(candidate.model.train_step).get_concrete_function(data).graph
    groups = {
        "matmul": ("MatMul", "BatchMatMulV2"),
        "variable": (
            "ReadVariableOp",
            "AssignVariableOp",
            "AssignAddVariableOp",
            "AssignSubVariableOp",
            "ResourceApplyAdam",
        ),
    }
    counts = {"total": 0, "matmul": 0, "variable": 0, "other": 0}
    for op in graph.get_operations():
        if op.type in ("Placeholder", "Const", "NoOp", "Identity"):
            continue
        counts["total"] += 1
        kind = next((k for k, types in groups.items() if op.type in types), "other")
        counts[kind] += 1
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--epochs",
        type=int,
        default=3,
        help="epochs per fit call; the first is dropped",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="repetitions; each runs every model next to its reference",
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        default=["10:false", "1:false", "10:true"],
        help="same-settings comparisons, steps_per_execution:"
        "jit_compile (auto/true/false); the first is used for "
        "the zoo and profile sections",
    )
    parser.add_argument(
        "--sections",
        nargs="*",
        default=["zoo", "profile"],
        choices=["zoo", "profile"],
        help="optional sections besides the two comparisons",
    )
    parser.add_argument(
        "--zoo", nargs="*", default=ksae.list_models(), choices=ksae.list_models()
    )
    parser.add_argument("--zoo-shape", choices=["same", "default"], default="same")
    parser.add_argument("--data", choices=["digits", "random"], default="digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="TensorFlow intra- and inter-op threads (0: TensorFlow's default); "
        "1 makes CPU time a clean measure of work on a busy machine",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1,024 samples, 1 repeat of 2 epochs, "
        "first setting only, zoo 'plain' only, no profile",
    )
    parser.add_argument(
        "--json",
        help="output path (default "
        "bench/results/overhead.json; --quick: overhead_quick.json in the "
        "temporary folder)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.repeats, args.epochs = 1024, 1, 2
        args.settings = args.settings[:1]
        args.zoo = ["plain"]
        args.sections = ["zoo"]
    if args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch of each fit is dropped)")
    log = None if args.quiet else (lambda line: print(line, flush=True))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # Many models in one process: TensorFlow's retracing notice is noise.
        tf.get_logger().setLevel("ERROR")
        if args.threads:
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    info = _common.machine_info()
    keras.utils.set_random_seed(args.seed)
    x = make_data(args.data, args.samples, args.seed)
    steps = math.ceil(len(x) / args.batch_size)
    print(f"# Training-loop overhead ({info['backend']})\n")
    print(_common.describe(info) + "\n")
    print(
        f"data: {args.data} ({len(x)} x {x.shape[1]}), batch {args.batch_size} "
        f"({steps} steps/epoch), {args.repeats} repetitions of {args.epochs}-epoch "
        "fit calls, each model right beside its reference, alternating which "
        "goes first (first epoch of each fit dropped), TensorFlow threads: "
        f"{args.threads or 'default'}; "
        f"command: `{_common.command_line()}`\n",
        flush=True,
    )

    cands = candidates(args, x)
    by_key = {c.key: c for c in cands}
    datasets = tf_datasets(x, args.batch_size) if "profile" in args.sections else {}
    warmup = {}
    for c in cands:
        keras.utils.set_random_seed(args.seed)
        c.model = c.build()
        start = time.perf_counter()
        fit_once(c, x, 1, args.batch_size, datasets)
        warmup[c.key] = time.perf_counter() - start
        if log:
            log(
                f"  warm-up {c.key}: {warmup[c.key]:.2f} s (load {_common.load_text()})"
            )

    def run_one(key):
        times = fit_once(by_key[key], x, args.epochs, args.batch_size, datasets)
        return {kind: values[1:] for kind, values in times.items()}

    samples, ratios, partners = _common.paired(
        {c.key: c.reference for c in cands}, run_one, args.repeats, log=log
    )
    rows = {}
    for c in cands:
        row = _common.summarize(samples[c.key], ratios[c.key], partners[c.key])
        row.update(
            label=c.label,
            reference=c.reference,
            warmup_s=warmup[c.key],
            parameters=int(c.model.count_params()),
            per_call=samples[c.key],
        )
        rows[c.key] = row
    costs = fixed_costs(x, args.seed)
    load_end = _common.load_average()

    def fmt(row, target=None):
        ratio = row["ratio"]
        lo, hi = row["ratio_range"]
        cells = [
            f"{row['median_s']:.3f}",
            f"{1000 * row['median_s'] / steps:.2f}",
            f"{ratio:.3f}",
            f"{lo:.2f}-{hi:.2f}",
            f"{row['min_ratio']:.3f}",
            f"{row['cpu_ratio']:.3f}",
        ]
        if target is not None:
            cells.append(f"<= {target:.2f}: {_common.verdict(ratio, target)}")
        return cells

    heads = [
        "median s/epoch",
        "ms/step",
        "ratio",
        "paired ratio range",
        "ratio of fastest epochs",
        "CPU-time ratio",
    ]
    print("\n## Same fit settings (deep SAE <= 1.10x plain)\n")
    body = []
    for text in args.settings:
        tag = setting_name(parse_setting(text))
        body.append(
            [tag, "plain Keras (`loss='mse'`)", *fmt(rows[f"plain_keras[{tag}]"]), ""]
        )
        body.append(
            [
                tag,
                "deep SAE (3 penalties, traces, MSE)",
                *fmt(rows[f"deep_sae[{tag}]"], SAME_TARGET),
            ]
        )
    print(_common.table(["settings", "model", *heads, "target"], body))

    print("\n## Builder defaults vs plain Keras default fit (<= 0.80x)\n")
    print(
        _common.table(
            ["model", *heads, "target"],
            [
                [
                    rows["plain_keras[default]"]["label"],
                    *fmt(rows["plain_keras[default]"]),
                    "",
                ],
                [
                    rows["deep_sae[builder]"]["label"],
                    *fmt(rows["deep_sae[builder]"], DEFAULTS_TARGET),
                ],
            ],
        )
    )

    first = setting_name(parse_setting(args.settings[0]))
    if "zoo" in args.sections:
        print(
            f"\n## Zoo models ({first}; ratio to plain Keras, same settings; "
            f"shapes: {args.zoo_shape})\n"
        )
        print(
            _common.table(
                ["model", "parameters", *heads],
                [
                    [k[4:], rows[k]["parameters"], *fmt(rows[k])]
                    for k in rows
                    if k.startswith("zoo:")
                ],
            )
        )

    if "profile" in args.sections:
        deep_ratio = rows[f"deep_sae[{first}]"]["ratio"]
        tf_backend = keras.backend.backend() == "tensorflow"
        print(
            f"\n## Profile of the deep SAE ({first}; ratios paired with plain "
            "Keras; delta = ratio - full deep SAE's ratio; graph ops = "
            "operations in one traced train_step, variable reads/writes in "
            "brackets)\n"
        )
        keys = [f"plain_keras[{first}]", f"deep_sae[{first}]"]
        keys += [k for k in rows if k.startswith("profile:")]
        body = []
        for k in keys:
            row = rows[k]
            if tf_backend and not by_key[k].fit.get("tf_data"):
                ops = graph_ops(by_key[k], args.batch_size)
                row["graph_ops"] = ops
                ops_text = f"{ops['total']} ({ops['variable']})"
            else:
                ops_text = "same as above" if tf_backend else "n/a"
            label = row["label"] + (" (full)" if k.startswith("deep_sae[") else "")
            body.append(
                [label, *fmt(row), f"{row['ratio'] - deep_ratio:+.3f}", ops_text]
            )
        print(_common.table(["variant", *heads, "delta", "graph ops"], body))
        print(
            f"\nPer `fit` call (not in the epoch times): input check of X "
            f"{1000 * costs['check_data_x_s']:.1f} ms; the guard's snapshot of "
            f"{costs['variables_in_snapshot']} variables "
            f"{1000 * costs['guard_snapshot_s']:.1f} ms (also taken once per epoch)."
        )
    print(f"\nload average at end: {_common.load_text()}")

    result = {
        "benchmark": "overhead",
        "command": _common.command_line(),
        "machine": info,
        "load_average_end": load_end,
        "data": args.data,
        "samples": len(x),
        "batch_size": args.batch_size,
        "steps_per_epoch": steps,
        "epochs_per_fit": args.epochs,
        "repeats": args.repeats,
        "threads": args.threads or "default",
        "settings": args.settings,
        "targets": {"same_settings": SAME_TARGET, "builder_defaults": DEFAULTS_TARGET},
        "verdicts": {
            **{
                f"same_settings[{setting_name(parse_setting(t))}]": _common.verdict(
                    rows[f"deep_sae[{setting_name(parse_setting(t))}]"]["ratio"],
                    SAME_TARGET,
                )
                for t in args.settings
            },
            "builder_defaults": _common.verdict(
                rows["deep_sae[builder]"]["ratio"], DEFAULTS_TARGET
            ),
        },
        "fixed_costs": costs,
        "rows": rows,
    }
    path = _common.write_result("overhead", result, args.json, quick=args.quick)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
