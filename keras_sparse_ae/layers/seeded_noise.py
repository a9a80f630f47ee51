"""Noise layers whose random state is saved with the model.

Keras does not save a `SeedGenerator`'s state: a reloaded model starts its
noise over from the seed, so it does not continue training as the original
would. `SeedStateMixin` saves and restores it; `GaussianNoise` and
`Dropout` here are Keras' layers with that mixin.
"""

import keras

#: Key of the seed state among a layer's saved variables.
SEED_STATE_KEY = "seed_generator_state"


class SeedStateMixin:
    """Saves `self.seed_generator`'s state with the layer's variables."""

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[SEED_STATE_KEY] = self.seed_generator.state

    def load_own_variables(self, store):
        if SEED_STATE_KEY in store.keys():
            self.seed_generator.state.assign(store[SEED_STATE_KEY])
        rest = {key: store[key] for key in store.keys() if key != SEED_STATE_KEY}
        super().load_own_variables(rest)


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class GaussianNoise(SeedStateMixin, keras.layers.GaussianNoise):
    """`keras.layers.GaussianNoise` that saves its random state.

    A reloaded denoising model draws the noise the original would have
    drawn next, so training continues bit-identically.

    Args: see `keras.layers.GaussianNoise`.
    """


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class Dropout(SeedStateMixin, keras.layers.Dropout):
    """`keras.layers.Dropout` that saves its random state.

    Args: see `keras.layers.Dropout`.
    """


__all__ = ["Dropout", "GaussianNoise", "SeedStateMixin"]
