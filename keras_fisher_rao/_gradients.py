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
"""Each variable's gradient, assembled from its reads' gradients.

The passes read every trainable variable through several tensors (one per
pass, and in exact mode the direction too; see `_passes.Passes.reads`), so
the tape gives one gradient per read. `variable_gradients` sums them with
their factors into the form plain Keras gives the optimizer: for a gathered
variable, one `tf.IndexedSlices` slice per lookup.
"""

import tensorflow as tf


def variable_gradients(reads, read_gradients):
    """Each variable's gradient from the gradients of its passes' reads.

    Args:
      reads: `_passes.Passes.reads`: per variable, `(tensor, factor)`
        pairs, the pass whose logits the loss uses first.
      read_gradients: The gradients of the objective with respect to those
        tensors, in the same order, flattened.

    Returns:
      One gradient per variable, None where no read has one.
    """
    read_gradients = iter(read_gradients)
    return [
        _summed_shares([(next(read_gradients), factor) for _, factor in pairs])
        for pairs in reads
    ]


def _summed_shares(shares):
    """sum factor * gradient, in the form plain Keras would give.

    Dense shares are added. For `tf.IndexedSlices` (a gathered variable),
    the passes gather the same rows, so their slices are added slice by
    slice onto the first share's: one slice per gathered row, as the plain
    model's gradient has, instead of one per row and pass (an optimizer
    like Adam squares slices one by one, and the passes' large shares that
    cancel only in their sum would inflate its second moment). With lambda
    = 0 the other shares are zeros and the first is the plain gradient, so
    the result is bit-identical to it.
    """
    shares = [
        _times(gradient, factor)
        for gradient, factor in shares
        if gradient is not None
    ]
    if not shares:
        return None
    first, rest = shares[0], shares[1:]
    if not rest:
        return first
    if not isinstance(first, tf.IndexedSlices):
        total = first
        for share in rest:
            total = total + tf.convert_to_tensor(share)
        return total
    sparse = [share for share in rest if isinstance(share, tf.IndexedSlices)]
    dense = [
        share for share in rest if not isinstance(share, tf.IndexedSlices)
    ]
    values, indices = first.values, first.indices
    if sparse:
        values, indices = _slice_by_slice(first, sparse)
    if dense:
        # A share with no slices (exact mode's direction `d` of a gathered
        # variable): one more slice per row of the variable.
        total = dense[0]
        for share in dense[1:]:
            total = total + share
        values = tf.concat([values, total], 0)
        indices = tf.concat(
            [indices, tf.range(tf.shape(total, indices.dtype)[0])], 0
        )
    return tf.IndexedSlices(values, indices, first.dense_shape)


def _times(gradient, factor):
    if factor == 1.0:
        return gradient
    # A Python factor straight to the gradient's dtype: through float32, a
    # float64 step's 1 + eps would be off by 1e-8, amplified by the shares'
    # cancellation.
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(
            gradient.values
            * tf.constant(factor, gradient.values.dtype.base_dtype),
            gradient.indices,
            gradient.dense_shape,
        )
    return gradient * tf.constant(factor, gradient.dtype.base_dtype)


def _slice_by_slice(first, others):
    """`(values, indices)`: the others' slices added onto the first's.

    If a pass gathered other rows (a model whose lookups depend on its
    weights), the others' slices are summed per row and appended instead.
    """
    indices = first.indices
    others = [
        tf.IndexedSlices(other.values, tf.cast(other.indices, indices.dtype))
        for other in others
    ]

    def same_rows(other):
        return tf.cond(
            tf.equal(tf.size(other.indices), tf.size(indices)),
            lambda: tf.reduce_all(tf.equal(other.indices, indices)),
            lambda: tf.constant(False),
        )

    aligned = tf.reduce_all(tf.stack([same_rows(other) for other in others]))

    def added():
        return tf.add_n([first.values] + [o.values for o in others]), indices

    def appended():
        rows, position = tf.unique(
            tf.concat([other.indices for other in others], 0)
        )
        summed = tf.math.unsorted_segment_sum(
            tf.concat([other.values for other in others], 0),
            position,
            tf.size(rows),
        )
        return (
            tf.concat([first.values, summed], 0),
            tf.concat([indices, rows], 0),
        )

    return tf.cond(aligned, added, appended)
