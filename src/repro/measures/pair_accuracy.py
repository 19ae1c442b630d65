"""Accuracy on the regression task of "Why Do You Grok?" (repro.data.modular_regression).

Labels are p * 1(a + b = c): only one triple in p is positive, so the fraction of triples
predicted within p/2 of their label is at least 1 - 1/p for the zero predictor and says little.
The paper reads the regression network as the classifier phi(a, b) = argmax_c f_c(a, b)
(Theorem 3.6 and Prop. E.7); we log its accuracy over the (a, b) pairs whose positive triple
(a, b, a+b) lies in the split: on the training split this reaches 1 once the positives are fit,
on the validation split only once the network generalises. The paper does not define the
accuracy of its Figs 2-3 [U]; this is our reading.
"""

from __future__ import annotations


def pair_accuracy(model, inputs, labels) -> dict[str, float]:
    positive = labels > model.p / 2
    if not positive.any():
        return {"pair_accuracy": float("nan")}
    a, b, c = inputs[positive].unbind(1)
    predicted = model.pair_outputs(a, b).argmax(dim=-1)
    return {"pair_accuracy": float((predicted == c).double().mean())}
