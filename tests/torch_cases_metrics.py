"""Classification metric references (tests/test_metrics.cpp): the oracle is scikit-learn 1.2, not PyTorch.

Each case stores the inputs (labels i64 [n], probabilities f64 [n, C]) and sklearn's figures: accuracy,
balanced accuracy, per-class precision/recall/specificity/F1/support (zero_division=0), macro and weighted
averages, the confusion matrix, one-vs-rest ROC AUC, average precision and the full ROC curve
(drop_intermediate=False) of each class that has positives and negatives, and the positive class's
sensitivity at 80%/90% specificity, IoU and Dice. NaN marks a figure that is undefined (docs/metrics.md)."""
import warnings

import numpy as np
from sklearn import metrics as skm

HAM10000 = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
HAM10000_PRIORS = [327, 514, 1099, 115, 1113, 6705, 142]  # images per class in HAM10000


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def one(x):
    return np.array([x], dtype=np.float64)


def reference(labels, probs, classes, positive_class):
    """sklearn's figures for (labels, probs); the tensors a case stores."""
    c = len(classes)
    pred = np.argmax(probs, axis=1)  # the first maximum on ties, like compute_metrics
    ks = list(range(c))
    out = {"labels": labels.astype(np.int64), "probs": probs.astype(np.float64)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # absent classes warn about zero division / undefined recall
        out["accuracy"] = one(skm.accuracy_score(labels, pred))
        out["balanced_accuracy"] = one(skm.balanced_accuracy_score(labels, pred))
        p, r, f, s = skm.precision_recall_fscore_support(labels, pred, labels=ks, zero_division=0)
        out.update(precision=p, recall=r, f1=f, support=s.astype(np.int64))
        for avg in ("macro", "weighted"):
            ap, ar, af, _ = skm.precision_recall_fscore_support(labels, pred, labels=ks, average=avg, zero_division=0)
            out[f"{avg}_precision"], out[f"{avg}_recall"], out[f"{avg}_f1"] = one(ap), one(ar), one(af)
        # Specificity of class k = recall of "not k" in the one-vs-rest problem.
        out["specificity"] = np.array([skm.recall_score((labels == k).astype(int), (pred == k).astype(int), pos_label=0,
                                                        zero_division=0) for k in ks])
        out["confusion"] = skm.confusion_matrix(labels, pred, labels=ks).astype(np.int64)
        aucs, aps = np.full(c, np.nan), np.full(c, np.nan)
        for k in ks:
            y = (labels == k).astype(int)
            if 0 < y.sum() < len(y):  # AUC and AP are NaN without positives or without negatives
                aucs[k] = skm.roc_auc_score(y, probs[:, k])
                aps[k] = skm.average_precision_score(y, probs[:, k])
                fpr, tpr, _ = skm.roc_curve(y, probs[:, k], drop_intermediate=False)
                out[f"roc_fpr_{k}"], out[f"roc_tpr_{k}"] = fpr, tpr
        out.update(roc_auc=aucs, average_precision=aps)
        out["macro_roc_auc"] = one(np.nanmean(aucs) if np.isfinite(aucs).any() else np.nan)
        if c > 2 and len(np.unique(labels)) == c:  # sklearn's own multi-class macro AUC needs every class present
            out["macro_roc_auc_ovr"] = one(skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro"))
        if positive_class >= 0:
            k = positive_class
            y, yp = (labels == k).astype(int), (pred == k).astype(int)
            sens = [np.nan, np.nan]
            if 0 < y.sum() < len(y):
                fpr, tpr, _ = skm.roc_curve(y, probs[:, k], drop_intermediate=False)
                sens = [tpr[fpr <= 0.2].max(), tpr[fpr <= 0.1].max()]
            out["sensitivity_at_specificity_80"], out["sensitivity_at_specificity_90"] = one(sens[0]), one(sens[1])
            out["iou"] = one(skm.jaccard_score(y, yp, zero_division=0))
            out["dice"] = one(skm.f1_score(y, yp, zero_division=0))
    return out


def case(name, labels, probs, classes, positive_class=-1):
    params = {"classes": classes, "positive_class": positive_class}
    return name, params, reference(labels, probs, classes, positive_class)


def cases():
    # 7 classes x 200 with HAM10000's imbalance; the first 7 labels make every class present.
    rng = np.random.default_rng(1)
    labels = np.r_[np.arange(7), rng.choice(7, size=193, p=np.array(HAM10000_PRIORS) / sum(HAM10000_PRIORS))]
    logits = rng.normal(0, 1, (200, 7))
    logits[np.arange(200), labels] += 1.5
    yield case("ham7_imbalanced", labels, softmax(logits), HAM10000, HAM10000.index("mel"))

    # Binary melanoma vs benign, as the ISBI 2016 notebooks: 20% positives, probabilities [1 - p, p].
    rng = np.random.default_rng(2)
    labels = (rng.random(300) < 0.2).astype(np.int64)
    p = 1 / (1 + np.exp(-(rng.normal(0, 1, 300) + 1.2 * labels - 0.8)))
    yield case("binary_melanoma", labels, np.stack([1 - p, p], axis=1), ["benign", "melanoma"], 1)

    # Scores on a coarse grid: many tied scores within a class, and tied maxima in a row (argmax takes the first).
    rng = np.random.default_rng(3)
    labels = rng.choice(5, size=150, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    raw = rng.integers(0, 4, (150, 5)).astype(np.float64)
    raw[np.arange(150), labels] += rng.integers(0, 3, 150)
    raw += 0.25
    yield case("ties_5class", labels, raw / raw.sum(axis=1, keepdims=True), ["a", "b", "c", "d", "e"], 0)

    # Class 2 never occurs in the labels but is predicted: its recall is 0 (not counted in balanced accuracy),
    # its AUC, AP and sensitivities are NaN; as the positive class its IoU and Dice are 0.
    rng = np.random.default_rng(4)
    labels = rng.choice([0, 1, 3], size=60, p=[0.5, 0.3, 0.2])
    logits = rng.normal(0, 1, (60, 4))
    logits[np.arange(60), labels] += 1.0
    logits[:, 2] += 0.6
    yield case("absent_class", labels, softmax(logits), ["w", "x", "y", "z"], 2)

    # Every label is class 0: class 0 has no negatives, classes 1 and 2 no positives; no AUC is defined.
    rng = np.random.default_rng(5)
    yield case("single_label", np.zeros(20, dtype=np.int64), softmax(rng.normal(0, 1, (20, 3))), ["p", "q", "r"], 0)

    # Perfect: the true class always scores 0.8, the others 0.1; every AUC and AP is 1.
    rng = np.random.default_rng(6)
    labels = rng.choice(3, size=30)
    probs = np.full((30, 3), 0.1)
    probs[np.arange(30), labels] = 0.8
    yield case("perfect", labels, probs, ["u", "v", "w"], 1)

    # Worst: every positive scores below every negative and every prediction is wrong; AUC 0.
    rng = np.random.default_rng(7)
    labels = (rng.random(40) < 0.3).astype(np.int64)
    p = np.where(labels == 1, rng.uniform(0.05, 0.45, 40), rng.uniform(0.55, 0.95, 40))
    yield case("worst", labels, np.stack([1 - p, p], axis=1), ["benign", "melanoma"], 1)

    # 3000 continuous scores: ROC curves of ~2000 points, for thinning the JSON curve to <= 200 points.
    rng = np.random.default_rng(8)
    labels = (rng.random(3000) < 0.3).astype(np.int64)
    p = 1 / (1 + np.exp(-(rng.normal(0, 1.5, 3000) + 1.5 * labels - 0.7)))
    yield case("large_binary", labels, np.stack([1 - p, p], axis=1), ["benign", "melanoma"], 1)
