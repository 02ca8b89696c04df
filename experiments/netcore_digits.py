"""Train netcore's MLPClassifier on scikit-learn's digits and report test accuracy."""

import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from netcore import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25, random_state=0,
                                                    stratify=y)
start = time.perf_counter()
clf = MLPClassifier(hidden_sizes=(128,), learning_rate=0.05, epochs=30, random_state=0)
clf.fit(X_train, y_train)
print(f"MLP 64-128-10 on digits: test accuracy {clf.score(X_test, y_test):.4f} "
      f"after {clf.n_iter_} epochs in {time.perf_counter() - start:.2f} s ({clf.status_})")
