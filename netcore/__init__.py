"""netcore: a NumPy multilayer perceptron trained by mini-batch SGD with momentum.

Low-level API: MLP (parameters, forward, backprop), SGD (owns the velocities), fit (the
training loop, returning a History). Estimators in scikit-learn's conventions wrap them.
"""

from .activations import ACTIVATIONS, DERIVATIVES, HIDDEN_ACTIVATIONS
from .checkpoint import load_training_state, save_training_state
from .estimators import MLPClassifier, MLPRegressor, load
from .init import INITIALIZERS
from .losses import HEADS, get_head
from .metrics import METRICS
from .network import MLP, load_model, save_model
from .optim import SCHEDULES, SGD, make_schedule
from .train import History, fit

__all__ = [
    "ACTIVATIONS", "DERIVATIVES", "HIDDEN_ACTIVATIONS", "HEADS", "INITIALIZERS", "METRICS",
    "SCHEDULES", "History", "MLP", "MLPClassifier", "MLPRegressor", "SGD", "fit", "get_head",
    "load", "load_model", "load_training_state", "make_schedule", "save_model",
    "save_training_state",
]
