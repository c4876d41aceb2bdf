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
"""Fisher-Rao norm regularizers for Keras 3 models and `tf.function` code.

The same quantities as `direct_fisher_rao`, for a built Keras 3 model on the
TensorFlow backend, eagerly or inside `tf.function` (`model.fit` included).
With theta_S the selected trainable variables and D the derivative of
`f(theta + e * theta_S)` in e at 0, for a softmax output (a categorical
distribution over the last axis of the logits z):

  standard:  mean_i sum_k p_ik (D log softmax_k(z_i))^2,  p = softmax(z)
  empirical: mean_i (D CE(labels_i, z_i))^2

and for sigmoid outputs (one independent Bernoulli per logit, p = sigmoid(z);
a `Dense(1)` head with binary cross-entropy, or a multi-label head):

  standard:  mean_i sum_k p_ik (1 - p_ik) (D z_ik)^2
  empirical: mean_i (sum_k (p_ik - y_ik) D z_ik)^2 = mean_i (D BCE_i)^2

(BCE summed over the outputs: the negative log-likelihood). For one logit
these are the softmax formulas on the two logits (0, z).

Every pass runs the model in a `keras.StatelessScope` on the values
`v + offset * v` of the selected variables, starting from the model's
current non-trainable state (batch-norm statistics, seed generators), and
changes nothing: the state a pass would write is returned, and only
`FisherRaoRegularizedModel.train_step` assigns it, from the one pass its loss
uses. D is taken by one of three methods:

  "forward": (f(theta + eps theta_S) - f(theta)) / eps
  "central": (f(theta + eps theta_S) - f(theta - eps theta_S)) / (2 eps)
  "exact":   the derivative in t of the pass with `v + t * v` at t = 0, by
             the double-backward trick; that pass's logits are the
             unperturbed ones.

The formulas and input checks are `fisher_rao_core`'s, shared with
`direct_fisher_rao`. docs/keras.md is the user's guide: the contract, every
error, and what each number `fit` logs is.

The modules, each with one job (all private: import from
`keras_fisher_rao`):

  _norms       the two norm functions, and the formulas on given passes
  _wrapper     FisherRaoRegularizedModel: its steps, lambda and saving
  _schedules   FisherRaoLambdaScheduler and linear_warm_up
  _passes      the model's stateless passes and D
  _gradients   each variable's gradient from the gradients of its reads
  _checks      checks of Keras, the model, its output and lambda
  _losses      the compiled losses: taken from logits, which distribution
"""

from fisher_rao_core import METHODS
from keras_fisher_rao._norms import (
    empirical_fisher_rao_norm,
    standard_fisher_rao_norm,
)
from keras_fisher_rao._passes import OUTPUT_DISTRIBUTIONS
from keras_fisher_rao._schedules import (
    FisherRaoLambdaScheduler,
    linear_warm_up,
)
from keras_fisher_rao._wrapper import NORMS, FisherRaoRegularizedModel

__all__ = [
    "METHODS",
    "NORMS",
    "OUTPUT_DISTRIBUTIONS",
    "FisherRaoLambdaScheduler",
    "FisherRaoRegularizedModel",
    "empirical_fisher_rao_norm",
    "linear_warm_up",
    "standard_fisher_rao_norm",
]
