"""Linear-probe classification: logistic regression on frozen embeddings, accuracy on held-out
documents (MTEB's classification protocol, with a single train/test split)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from modules.data.newsgroups import TextDataset
from modules.evaluation.result import Encoder, EvalResult


class ClassificationEvaluator:
    """Fit on ``train``, score on ``test``; per example: ``score`` = 1 if correct else 0."""

    def __init__(
        self,
        train: TextDataset,
        test: TextDataset,
        max_iter: int = 1000,
        seed: int = 0,
        name: str = "20ng",
    ) -> None:
        if len(set(train.labels)) < 2:
            raise ValueError("classification needs at least two classes in the training set")
        self.train = train
        self.test = test
        self.max_iter = max_iter
        self.seed = seed
        self.name = name

    def texts(self) -> list[str]:
        """Every text this evaluator encodes."""
        return list(self.train.texts) + list(self.test.texts)

    def evaluate(self, encode: Encoder) -> EvalResult:
        x_train = np.asarray(encode(list(self.train.texts)), dtype=np.float64)
        x_test = np.asarray(encode(list(self.test.texts)), dtype=np.float64)
        model = LogisticRegression(max_iter=self.max_iter, random_state=self.seed)
        model.fit(x_train, np.asarray(self.train.labels))
        predicted = model.predict(x_test)
        target = np.asarray(self.test.labels)
        correct = (predicted == target).astype(np.float64)
        frame = pd.DataFrame(
            {
                "example_id": np.arange(len(target)),
                "score": correct,
                "prediction": predicted,
                "target": target,
            }
        )
        return EvalResult(
            metric=f"classification/{self.name}/accuracy",
            value=float(correct.mean()),
            per_example=frame,
            statistic="mean",
        )
