"""L2-regularised multinomial logistic regression for the linear probe, fitted fast when the
features far outnumber the utterances (Whisper-base pooled statistics: 7168 dims, a few
hundred training utterances).

With an L2 penalty on the weights, the optimum is a combination of the training rows (the
representer theorem). So the rows are expressed in an orthonormal basis of their span (from
the eigendecomposition of the n x n Gram matrix), the model is fitted there (n coordinates,
not d), and the weights are mapped back. The objective is scikit-learn's
LogisticRegression(C, class_weight) objective, C * sum_i w_i CE_i + ||W||^2 / 2 with an
unpenalised intercept, minimised with torch's L-BFGS (here 10x faster than scipy's on these
small problems); tests check that both agree.
"""
import numpy as np
import torch
from scipy.special import log_softmax


class SpanBasis:
    """Orthonormal basis (r, d) of the span of the rows of X, via the Gram matrix."""

    def __init__(self, X: np.ndarray):
        w, U = np.linalg.eigh(X @ X.T)
        keep = w > 1e-10 * max(w.max(), 1e-30)
        self.rows = ((X.T @ U[:, keep]) / np.sqrt(w[keep])).T  # (r, d)

    def coords(self, X):
        return X @ self.rows.T


def fit_multinomial(X, y, C: float, num_classes: int, sample_weight=None, init=None,
                    max_iter: int = 500, tol: float = 1e-5):
    """(W (k, dim), b (k,)) minimising C * sum_i w_i CE(softmax(W x_i + b), y_i) + ||W||^2 / 2;
    `init` (W, b) warm-starts (e.g. from the solution for a smaller C)."""
    X = torch.as_tensor(X, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.long)
    sw = torch.ones(len(y), dtype=torch.float64) if sample_weight is None else \
        torch.as_tensor(sample_weight, dtype=torch.float64)
    Y = torch.nn.functional.one_hot(y, num_classes).double()
    W = torch.zeros(num_classes, X.shape[1], dtype=torch.float64)
    b = torch.zeros(num_classes, dtype=torch.float64)
    if init is not None:
        W.copy_(torch.as_tensor(init[0])), b.copy_(torch.as_tensor(init[1]))
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=max_iter, tolerance_grad=tol, tolerance_change=1e-10,
                            history_size=10, line_search_fn="strong_wolfe")
    # the objective divided by C * sum(w): the same minimum, gradients on the scale of a mean
    # loss (so `tol` means the same for every C); the gradient is written out, no autograd
    cw = sw[:, None] / float(sw.sum())
    reg = 1.0 / (C * float(sw.sum()))

    def closure():
        logp = torch.log_softmax(X @ W.T + b, dim=1)
        G = cw * (logp.exp() - Y)
        W.grad, b.grad = G.T @ X + reg * W, G.sum(0)
        return -(cw * Y * logp).sum() + 0.5 * reg * (W * W).sum()

    opt.step(closure)
    return W.numpy(), b.numpy()


class SpanLogisticRegression:
    """Fit/predict like scikit-learn's LogisticRegression (multinomial, lbfgs, L2), in the span
    of the training rows. `balanced`: class_weight='balanced'. Classes absent from training
    get weights 0 and bias -1e4 (never predicted)."""

    def __init__(self, C: float, num_classes: int, balanced: bool = True):
        self.C, self.num_classes, self.balanced = C, num_classes, balanced

    def fit(self, X, y, basis: SpanBasis = None, warm: "SpanLogisticRegression" = None):
        """`basis` of X's rows when already known; `warm` a fit on the same X and basis."""
        basis = basis or SpanBasis(X)
        present = np.unique(y)
        sw = None
        if self.balanced:  # n / (classes * count), as scikit-learn's 'balanced'
            counts = np.bincount(y, minlength=self.num_classes)
            sw = (len(y) / (len(present) * np.maximum(counts, 1)))[y]
        remap = np.full(self.num_classes, -1)
        remap[present] = np.arange(len(present))
        init = (warm.span_coef, warm.span_intercept) if warm is not None else None
        W, b = fit_multinomial(basis.coords(X), remap[y], self.C, len(present), sw, init)
        self.span_coef, self.span_intercept = W, b
        self.coef_ = np.zeros((self.num_classes, X.shape[1]))
        self.intercept_ = np.full(self.num_classes, -1e4)
        self.coef_[present], self.intercept_[present] = W @ basis.rows, b
        return self

    def predict_proba(self, X):
        z = X @ self.coef_.T + self.intercept_
        return np.exp(log_softmax(z, axis=1))
