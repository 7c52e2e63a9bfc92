"""Linear discriminant analysis with Ledoit-Wolf shrinkage, a linear member with no
regularisation to choose, fitted fast when the features far outnumber the utterances.

It is scikit-learn's LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=...)
(tests check both agree), whose p x p algebra takes minutes per fit on Whisper-base's 7168
pooled dimensions. Here everything goes through n x n products instead:
- each class's Ledoit-Wolf shrinkage from its Gram matrix (||X^T X||_F = ||X X^T||_F);
- the within-class covariance is sum_k prior_k [(1 - a_k) S_k + a_k mu_k diag(scale_k^2)]
  (scikit-learn shrinks each class's standardised covariance towards mu_k I, then rescales):
  a low-rank part A^T A (one row of A per utterance) plus a diagonal D, so
  (A^T A + D)^-1 B = D^-1 B - D^-1 A^T (I + A D^-1 A^T)^-1 A D^-1 B (Woodbury).
"""
import numpy as np
from scipy.special import log_softmax


def ledoit_wolf_shrinkage(X: np.ndarray) -> float:
    """sklearn.covariance.ledoit_wolf_shrinkage(X) from n x n products."""
    n, p = X.shape
    if p == 1:
        return 0.0
    X = X - X.mean(0)
    sq = (X ** 2).sum(1)                            # squared norm of each row
    trace = sq.sum() / n                            # trace of the empirical covariance
    mu = trace / p
    gram = X @ X.T
    delta_ = float((gram ** 2).sum()) / n ** 2      # ||emp_cov||_F^2
    beta = ((sq ** 2).sum() / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * trace + p * mu ** 2) / p
    beta = min(beta, delta)
    return 0.0 if beta == 0 else float(beta / delta)


class ShrinkageLDA:
    """Fit/predict_proba like scikit-learn's shrinkage LDA (lsqr, Ledoit-Wolf). `balanced`: equal
    priors for the classes present (the analogue of class_weight='balanced'), else their
    frequencies. Classes absent from training get weights 0 and bias -1e4 (never predicted)."""

    def __init__(self, num_classes: int, balanced: bool = True):
        self.num_classes, self.balanced = num_classes, balanced

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        n, p = X.shape
        present = np.unique(y)
        counts = np.array([(y == c).sum() for c in present])
        priors = np.full(len(present), 1.0 / len(present)) if self.balanced else counts / n
        means = np.stack([X[y == c].mean(0) for c in present])
        rows, diag = [], np.zeros(p)
        for prior, c, mean in zip(priors, present, means):
            Xc = X[y == c] - mean
            scale = Xc.std(0)
            scale[scale == 0] = 1.0                 # as StandardScaler
            Zc = Xc / scale
            a = ledoit_wolf_shrinkage(Zc)
            mu = (Zc ** 2).sum() / len(Zc) / p
            rows.append(np.sqrt(prior * (1 - a) / len(Xc)) * Xc)
            diag += prior * a * mu * scale ** 2
        A = np.concatenate(rows)
        # no shrinkage at all (never seen with p >> n) would leave the diagonal at 0
        diag = np.maximum(diag, 1e-12 * max(diag.max(), 1e-12))
        B = means.T / diag[:, None]                                  # D^-1 B
        AD = A / diag                                                # A D^-1
        inner = np.eye(len(A)) + AD @ A.T
        coef = (B - AD.T @ np.linalg.solve(inner, A @ B)).T          # (classes present, p)
        self.coef_ = np.zeros((self.num_classes, p))
        self.intercept_ = np.full(self.num_classes, -1e4)
        self.coef_[present] = coef
        self.intercept_[present] = -0.5 * (means * coef).sum(1) + np.log(priors)
        return self

    def predict_proba(self, X):
        z = np.asarray(X) @ self.coef_.T + self.intercept_
        return np.exp(log_softmax(z, axis=1))
