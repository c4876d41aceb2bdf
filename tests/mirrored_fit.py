# Copyright 2026 The fisher-rao Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""FisherRaoRegularizedModel.fit on two devices against one device.

Run by tests/test_keras_fisher_rao.py in a fresh process: the CPU is split
into two logical devices, which must happen before TensorFlow touches any
device. Trains a float64 MLP with the same global batches on the default
(one-device) strategy and on a MirroredStrategy over the two devices, for
(fr, forward) and (fre, exact), and prints, as the last line of stdout, a
JSON object: the number of replicas and, per run, the largest difference of
the weights and of the logged numbers, and how far lambda * norm moved the
weights (against the plain model trained alike).
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration()] * 2,
)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_fisher_rao as kfr  # noqa: E402


def mlp():
    return keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3),
        ]
    )


def train(strategy, weights, inputs, labels, norm=None, method=None):
    """Trains from `weights`; returns the weights and the history."""
    with strategy.scope():
        model = mlp()
        model.set_weights(weights)
        trained = model
        if norm is not None:
            trained = kfr.FisherRaoRegularizedModel(
                model, norm=norm, fisher_rao_lambda=0.5, method=method
            )
        trained.compile(
            optimizer=keras.optimizers.Adam(0.02),
            loss="categorical_crossentropy"
            if norm is not None
            else keras.losses.CategoricalCrossentropy(from_logits=True),
        )
    history = trained.fit(
        inputs, labels, batch_size=16, epochs=1, shuffle=False, verbose=0
    )
    return model.get_weights(), history.history


def largest_difference(first, second):
    return max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(first, second, strict=True)
    )


def main():
    keras.config.set_floatx("float64")
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(32, 6))
    labels = np.eye(3)[rng.integers(0, 3, 32)]
    keras.utils.set_random_seed(1)
    weights = mlp().get_weights()
    one_device = tf.distribute.get_strategy()
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    plain, _ = train(one_device, weights, inputs, labels)
    runs = []
    for norm, method in (("fr", "forward"), ("fre", "exact")):
        single, single_logs = train(
            one_device, weights, inputs, labels, norm, method
        )
        several, several_logs = train(
            mirrored, weights, inputs, labels, norm, method
        )
        runs.append(
            {
                "norm": norm,
                "method": method,
                "max_weight_difference": largest_difference(single, several),
                "max_log_difference": largest_difference(
                    [single_logs[key] for key in sorted(single_logs)],
                    [several_logs[key] for key in sorted(single_logs)],
                ),
                "norm_effect": largest_difference(single, plain),
            }
        )
    print(
        json.dumps({"replicas": mirrored.num_replicas_in_sync, "runs": runs})
    )


if __name__ == "__main__":
    main()
