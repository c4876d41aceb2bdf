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
"""The shared helpers of the tests (the one module tests import helpers from).

Hand-made results files: `make_results` (every key of today's schema, the
values whatever a test gives, constants otherwise; for the studies),
`plausible_results` (noisy curves that differ per setting; for the plots)
and `earlier_version_results` (the keys of a file written before the
validation metrics and the complexity measures existed). Readers of files
and figures: `read_files`, `read_strict_json`, `legend_texts`,
`assert_readable_nonblank_png`, `assert_colors_drawn`. Short real
training runs: `SMALL_TRAINING`, `small_config`, `BAD_TRAINING_FLAGS`.
"""

import json
import os
import re
import zlib

import matplotlib
import matplotlib.colors
import matplotlib.image
import numpy as np

from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import grouping, loading

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The training flags a results file records (its "hparams").
BASE_HPARAMS = {
    "regularization_norm": "None",
    "fisher_rao_lambda": 0.0,
    "differentiate_probability": True,
    "fisher_rao_method": "exact",
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "train_steps": 300,
    "eval_steps": 100,
    "batch_size": 32,
    "dataset": "digits",
    "train_size": 1000,
    "validation_size": 0,
    "test_size": 797,
    "label_noise": 0.0,
    "weight_decay": 0.0,
    "stop_train_loss": None,
    "num_hidden_layers": 0,
    "layer_width": 16,
    "random_seed": 1,
    "input_dimension": 64,
    "num_classes": 10,
    "output_dir": "/tmp/runs",
    "summary_dir": None,
    "start_time": "2026-01-01T00:00:00+00:00",
}
# Recorded at every evaluation, with their constant default values.
EVALUATED_DEFAULTS = {
    "train_loss": 0.5,
    "train_accuracy": 0.9,
    "validation_loss": None,
    "validation_accuracy": None,
    "test_loss": 0.7,
    "test_accuracy": 0.8,
    "fisher_rao_norm": 1.0,
    "fisher_rao_norm_depth_normalized": 0.25,
    "empirical_fisher_rao_norm": 2.0,
    "l2_norm": 3.0,
    "spectral_product": 4.0,
    "path_norm": 5.0,
    "margin": 1.0,
}


def make_results(hparams=None, steps=(0, 100, 200, 300), **values):
    """A results dictionary.

    Args:
      hparams: Overrides of BASE_HPARAMS.
      steps: The evaluation steps.
      **values: Any results key. A per-evaluation key may be given as a
        number, which becomes its final value (earlier ones keep the
        default), or as a full list.

    Returns:
      The results dictionary.
    """
    results = {
        "hparams": dict(BASE_HPARAMS, **(hparams or {})),
        "steps": list(steps),
    }
    for key, default in EVALUATED_DEFAULTS.items():
        value = values.pop(key, default)
        if isinstance(value, (list, tuple)):
            results[key] = list(value)
        else:
            results[key] = [default] * (len(steps) - 1) + [value]
    results["regularizer_loss"] = [0.0] * steps[-1]
    results["stopped_at_step"] = None
    results["checkpoint"] = "/tmp/checkpoint"
    results["num_parameters"] = 1000
    results.update(values)
    return results


def write_results(directory, stem, results):
    """Writes results as the training script does; returns the path."""
    return results_io.write_json_atomically(results, str(directory), stem)


def read_strict_json(path):
    """Parses a file, failing on NaN or Infinity tokens."""

    def reject(token):
        raise AssertionError(f"non-strict JSON token {token} in {path}")

    with open(path) as json_file:
        return json.loads(json_file.read(), parse_constant=reject)


# The keys a study's grids vary, naming hand-made files.
STEM_KEYS = (
    "regularization_norm",
    "fisher_rao_method",
    "fisher_rao_lambda",
    "weight_decay",
    "label_smoothing",
    "confidence_penalty",
    "label_noise",
    "layer_width",
    "num_hidden_layers",
    "batch_size",
    "random_seed",
)


def stem_of(point):
    """A file stem unique to a grid point of the studies' grids."""
    return "_".join(f"{key}{point[key]}" for key in STEM_KEYS if key in point)


def write_grid_point(directory, point, **values):
    """Writes `make_results(**values)` for a study's grid point.

    The point's keys set to None (the dataset's defaults) are not recorded;
    the file is named by `stem_of(point)`.
    """
    hparams = {key: value for key, value in point.items() if value is not None}
    return write_results(
        directory, stem_of(point), make_results(hparams, **values)
    )


# --------------------------------------------------------------------------
# Plausible runs, for the plots.


def plausible_results(
    norm="fr",
    lam=0.01,
    seed=1,
    method="forward",
    num_points=6,
    eval_steps=100,
    validation=False,
    **hparams,
):
    """Plausible results of one run with every key, different per setting.

    `hparams` override the recorded hyper-parameters (label_noise=0.1, ...).
    """
    hparams = {
        "dataset": "synthetic",
        "regularization_norm": norm,
        "fisher_rao_lambda": lam,
        "fisher_rao_method": method,
        "weight_decay": 0.0,
        "label_noise": 0.0,
        "validation_size": 50 if validation else 0,
        "stop_train_loss": None,
        "random_seed": seed,
        "train_steps": (num_points - 1) * eval_steps,
        "eval_steps": eval_steps,
        "start_time": f"2026-01-01T00:00:0{seed}",
    } | hparams
    rng = np.random.default_rng(zlib.crc32(repr(hparams).encode()))
    steps = np.arange(num_points) * eval_steps
    progress = np.linspace(0.0, 1.0, num_points)
    loss = 0.7 * np.exp(-3 * progress) + 0.1

    def noisy(values):
        return values + rng.normal(0, 0.02, num_points)

    nulls = [None] * num_points
    return {
        "hparams": hparams,
        "steps": steps,
        "train_loss": noisy(loss),
        "train_accuracy": noisy(1 - loss / 2),
        "validation_loss": noisy(loss + 0.05 * progress)
        if validation
        else nulls,
        "validation_accuracy": noisy(1 - loss / 2 - 0.02 * progress)
        if validation
        else nulls,
        "test_loss": noisy(loss + 0.1 * progress),
        "test_accuracy": noisy(1 - loss / 2 - 0.05 * progress),
        # Spans three decades: an automatic log axis.
        "fisher_rao_norm": 0.01
        * 1000**progress
        * rng.uniform(0.8, 1.2, num_points),
        "fisher_rao_norm_depth_normalized": noisy(0.5 + progress),
        "empirical_fisher_rao_norm": 0.02 * 100**progress,
        "l2_norm": noisy(5 + progress),
        "spectral_product": noisy(2 + progress),
        "path_norm": noisy(3 + progress),
        "margin": noisy(progress - 0.3),  # Negative early, as real ones.
        # One value per training step, as synthetic_classification records.
        "regularizer_loss": np.exp(-np.arange(steps[-1]) / steps[-1])
        + rng.normal(0, 0.02, steps[-1]),
        "stopped_at_step": None,
        "checkpoint": None,
        "num_parameters": 462,
    }


# The keys of the first results files (and their 2018 hyper-parameters):
# no validation metrics, complexity measures, stopped_at_step, checkpoint or
# num_parameters.
EARLIER_VERSION_KEYS = (
    "hparams",
    "steps",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "regularizer_loss",
)
EARLIER_VERSION_HPARAMS = (
    "regularization_norm",
    "fisher_rao_lambda",
    "differentiate_probability",
    "fisher_rao_method",
    "optimizer",
    "learning_rate",
    "train_steps",
    "eval_steps",
    "batch_size",
    "train_size",
    "test_size",
    "num_hidden_layers",
    "layer_width",
    "random_seed",
    "input_dimension",
    "num_classes",
    "output_dir",
    "summary_dir",
    "start_time",
)


def earlier_version_results(**kwargs):
    """`plausible_results(**kwargs)` as the first version wrote them."""
    results = plausible_results(**kwargs)
    hparams = dict.fromkeys(EARLIER_VERSION_HPARAMS) | {
        name: value
        for name, value in results["hparams"].items()
        if name in EARLIER_VERSION_HPARAMS
    }
    return {key: results[key] for key in EARLIER_VERSION_KEYS} | {
        "hparams": hparams
    }


def stop_early(results, num_points):
    """`results` cut as --stop_train_loss cuts a run: a complete run."""
    for key in results_io.EVALUATED_KEYS + ("steps",):
        results[key] = results[key][:num_points]
    last_step = int(results["steps"][-1])
    results["regularizer_loss"] = results["regularizer_loss"][:last_step]
    results["stopped_at_step"] = last_step
    results["hparams"]["stop_train_loss"] = 0.5
    return results


def write(directory, stem, **kwargs):
    """Writes `plausible_results(**kwargs)`; returns the path."""
    return write_results(directory, stem, plausible_results(**kwargs))


def write_text(directory, name, text):
    path = os.path.join(str(directory), name)
    with open(path, "w") as output_file:
        output_file.write(text)
    return path


def write_sweep(directory):
    """Two seeds per (norm, lambda), an unregularized baseline at 0."""
    for seed in (1, 2):
        write(directory, f"none-{seed}", norm="None", lam=0.0, seed=seed)
        for lam in (0.0, 0.01, 0.1):
            write(directory, f"fr-{lam}-{seed}", norm="fr", lam=lam, seed=seed)
        write(directory, f"fre-{seed}", norm="fre", lam=0.1, seed=seed)


def write_noise_sweep(directory):
    """None and fr at three label noises, two seeds; one fr run stopped."""
    for norm, lam in (("None", 0.0), ("fr", 0.01)):
        for noise in (0.0, 0.1, 0.2):
            for seed in (1, 2):
                write(
                    directory,
                    f"{norm}-{noise}-{seed}",
                    norm=norm,
                    lam=lam,
                    label_noise=noise,
                    seed=seed,
                    stop_train_loss=0.5,
                )
    write_results(
        directory,
        "fr-0.1-stopped",
        stop_early(plausible_results(norm="fr", label_noise=0.1, seed=3), 3),
    )


def read_files(directory):
    """Every results file in `directory`, parsed without the analysis."""
    parsed = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            with open(os.path.join(directory, name)) as results_file:
                parsed.append(json.load(results_file))
    return parsed


def load_groups(directory, group_by=grouping.DEFAULT_GROUP_BY):
    """The runs of every results file in `directory`, grouped."""
    runs = loading.load_runs(r"\.json$", str(directory))
    return grouping.group_runs(runs, group_by)


def group_labels(groups):
    return [group.label for group in groups]


# --------------------------------------------------------------------------
# Tables and figures.


def columns(line):
    """The cells of a line of a summary table."""
    return re.split(r"\s{2,}", line.strip())


def markdown_table_under(markdown, heading):
    """(header, rows) of the first markdown table after the line `heading`,
    cells stripped."""
    lines = markdown.splitlines()
    start = lines.index(heading)
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.split("|")[1:-1]])
        elif table:
            break
    return table[0], table[2:]


def legend_texts(figure_or_axes):
    legends = getattr(figure_or_axes, "legends", None)
    if legends is None:
        legends = [figure_or_axes.get_legend()]
    return [
        text.get_text() for legend in legends for text in legend.get_texts()
    ]


def solid_lines(axes):
    return [line for line in axes.lines if line.get_linestyle() == "-"]


def band_vertices(axes, index=0):
    """The y coordinates of the `index`th band drawn on `axes`."""
    return axes.collections[index].get_paths()[0].vertices[:, 1]


def assert_readable_nonblank_png(path, min_colors=5):
    with open(path, "rb") as image_file:
        assert image_file.read(8) == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100
    assert pixels.var() > 0
    rgb = pixels[..., :3].reshape(-1, 3)
    assert len(np.unique(np.round(rgb * 255), axis=0)) >= min_colors
    return rgb


def assert_colors_drawn(rgb, colors, tolerance=0.12):
    """Every colour (drawn at alpha 0.9 on white) appears in the image."""
    for color in colors:
        target = np.array(matplotlib.colors.to_rgb(color))
        nearest = np.abs(rgb - target).max(axis=1).min()
        assert nearest < tolerance, f"colour {color} is not in the image"


# --------------------------------------------------------------------------
# Short real training runs (the training's and the training script's tests).

# A network and data small enough that a run takes about a second.
SMALL_TRAINING = {
    "train_steps": 120,
    "eval_steps": 50,
    "batch_size": 16,
    "train_size": 64,
    "test_size": 32,
    "layer_width": 8,
    "num_hidden_layers": 2,
    "input_dimension": 5,
    "learning_rate": 0.05,
}


# Training flags and values each refused: every rule and every choice.
BAD_TRAINING_FLAGS = (
    ("regularization_norm", "l2"),
    ("fisher_rao_method", "backward"),
    ("optimizer", "rmsprop"),
    ("fisher_rao_lambda", "-0.1"),
    ("fisher_rao_lambda", "nan"),
    ("fisher_rao_lambda", "inf"),
    ("learning_rate", "0"),
    ("learning_rate", "-1"),
    ("learning_rate", "inf"),
    ("train_steps", "0"),
    ("eval_steps", "0"),
    ("batch_size", "0"),
    ("train_size", "0"),
    ("test_size", "0"),
    ("num_hidden_layers", "-1"),
    ("layer_width", "0"),
    ("input_dimension", "0"),
    ("num_classes", "1"),
    ("random_seed", "-1"),
    ("output_dir", ""),
    ("dataset", "mnist"),
    ("label_noise", "-0.1"),
    ("label_noise", "1.5"),
    ("weight_decay", "-1"),
    ("weight_decay", "nan"),
    ("label_smoothing", "-0.1"),
    ("label_smoothing", "1"),
    ("confidence_penalty", "-0.5"),
    ("confidence_penalty", "inf"),
    ("validation_size", "-1"),
    ("stop_train_loss", "-1"),
    ("stop_train_loss", "inf"),
)


def small_config(output_dir, **overrides):
    """The default configuration with SMALL_TRAINING and `overrides`."""
    return (
        experiment_config.default_config()
        | SMALL_TRAINING
        | {"output_dir": output_dir}
        | overrides
    )
