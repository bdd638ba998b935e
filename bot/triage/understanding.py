"""The learned understanding layer: free text to red-flag categories, symptoms
and who the patient is.

It sits beside the hand lexicon (:mod:`bot.triage.matcher`): the red-flag
screen fires when either the rules or this layer fire, and the rule engine
still decides level, departments and reasons from the facts.

The model is linear over sparse features, chosen by measurement (see
``docs/benchmarks.md``, "Triage understanding"):

* TF-IDF of character 1-4-grams of the normalised text (zh needs no word
  segmentation; typos, pinyin and code-mixing share most n-grams);
* TF-IDF of English word 1-2-grams;
* three numeric cues read by :mod:`bot.triage.facts` (a stated temperature of
  38 °C or more, an age under 3 months, both), which n-grams cannot learn.

Heads, all logistic regression: a *gate* (emergency or not), a *category* head
over the 16 red-flag categories (trained on emergencies only; a hit needs
its top category to reach a floor), one binary head
per symptom with enough examples, and a *subject* head (self, child, parent,
spouse, other). The gate's threshold and the category floor are chosen on
out-of-fold probabilities, leaving a group of writers (voices) out at a time,
so they are set on writers the fold has not seen.

Building is in :mod:`bot.triage.learned`; this module only fits and predicts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from bot.triage.text import normalise

FORMAT = 5
SUBJECTS = ("self", "child", "parent", "spouse", "other")
MIN_SYMPTOM_EXAMPLES = 8
TARGET_RECALL = 0.975  # gate recall wanted on unseen writers (a miss is worse than a false alarm)
FOLDS = 5  # writers are split into this many groups, each left out once
CATEGORY_FLOORS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3)


@dataclass(frozen=True)
class Example:
    """One labelled training message."""

    text: str
    lang: str
    emergency: bool
    category: str | None = None  # red-flag category, when known
    symptoms: tuple[str, ...] | None = None  # None: not labelled
    subject: str | None = None
    group: str = "?"  # writer / voice, for leave-one-writer-out thresholds


@dataclass(frozen=True)
class Cues:
    """Numbers the n-grams cannot read, from :mod:`bot.triage.facts`."""

    temperature_c: float | None = None
    age_years: float | None = None

    def vector(self) -> list[float]:
        fever = self.temperature_c is not None and self.temperature_c >= 38.0
        infant = self.age_years is not None and self.age_years < 0.25
        return [float(fever), float(infant), float(fever and infant)]


@dataclass(frozen=True)
class Reading:
    """What the layer reads in one message."""

    emergency: float  # gate probability
    fired: bool  # gate probability >= threshold
    category: str | None  # most likely category (when fired)
    category_p: float
    symptoms: dict[str, float] = field(default_factory=dict)  # id -> p, above the symptom threshold
    subject: str | None = None
    partial: bool = False  # symptoms and subject were not read


class Understanding:
    """A fitted model. Build with :meth:`fit`; predict with :meth:`read`."""

    def __init__(self, symptom_threshold: float = 0.5, c_gate: float = 16.0) -> None:
        self.symptom_threshold = symptom_threshold
        self.c_gate = c_gate
        self.chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), min_df=2,
                                     sublinear_tf=True, max_features=300_000, dtype=np.float32)
        self.words = TfidfVectorizer(analyzer="word", token_pattern=r"[a-z]+(?:'[a-z]+)?",
                                     ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                     dtype=np.float32)
        self.gate: LogisticRegression | None = None
        self.threshold = 0.5
        self.category_floor = 0.0
        self.categories: LogisticRegression | None = None
        self.symptom_ids: list[str] = []
        self.symptom_w = np.zeros((0, 0), dtype=np.float32)
        self.symptom_b = np.zeros(0, dtype=np.float32)
        self.subjects: LogisticRegression | None = None
        self.report: dict[str, Any] = {}
        self.format = FORMAT
        # the toneless-pinyin reader built with the model (bot.triage.pinyin), used by the screen
        self.pinyin: Any = None

    # -- features ----------------------------------------------------------
    def _fit_features(self, texts: list[str], cues: list[Cues]) -> sparse.csr_matrix:
        norm = [normalise(t) for t in texts]
        return self._stack(self.chars.fit_transform(norm), self.words.fit_transform(norm), cues)

    def features(self, texts: list[str], cues: list[Cues]) -> sparse.csr_matrix:
        norm = [normalise(t) for t in texts]
        return self._stack(self.chars.transform(norm), self.words.transform(norm), cues)

    @staticmethod
    def _stack(chars, words, cues: list[Cues]) -> sparse.csr_matrix:
        numeric = sparse.csr_matrix(np.array([c.vector() for c in cues], dtype=np.float32))
        return sparse.hstack([chars, words, numeric], format="csr")

    # -- fitting -----------------------------------------------------------
    def fit(self, examples: list[Example], cues: list[Cues]) -> Understanding:
        x = self._fit_features([e.text for e in examples], cues)
        y = np.array([e.emergency for e in examples], dtype=int)
        groups = np.array([e.group for e in examples])
        self.threshold, self.report["out_of_fold"] = self._choose_threshold(x, y, groups, examples)
        self.gate = self._gate().fit(x, y)

        rows = [i for i, e in enumerate(examples) if e.emergency and e.category]
        self.categories = self._categories().fit(
            x[rows].astype(np.float64), [examples[i].category for i in rows])

        labelled = [i for i, e in enumerate(examples) if e.symptoms is not None]
        counts = Counter(s for i in labelled for s in examples[i].symptoms or ())
        xs = x[labelled]
        weights, biases = [], []
        for symptom, n in sorted(counts.items()):
            if n < MIN_SYMPTOM_EXAMPLES:
                continue
            ys = np.array([symptom in (examples[i].symptoms or ()) for i in labelled], dtype=int)
            head = LogisticRegression(C=4.0, solver="liblinear", class_weight="balanced").fit(xs, ys)
            self.symptom_ids.append(symptom)
            weights.append(head.coef_[0])
            biases.append(head.intercept_[0])
        # one (features x heads) matrix: a message touches a few hundred rows of it
        self.symptom_w = np.array(weights, dtype=np.float32).T
        self.symptom_b = np.array(biases, dtype=np.float32)

        rows = [i for i, e in enumerate(examples) if e.subject in SUBJECTS]
        if len({examples[i].subject for i in rows}) > 1:
            self.subjects = LogisticRegression(C=4.0, max_iter=3000).fit(
                x[rows], [examples[i].subject for i in rows])
        self._compile()
        self.report.update({
            "examples": len(examples), "emergencies": int(y.sum()),
            "symptom_heads": len(self.symptom_ids), "threshold": self.threshold,
            "features": int(x.shape[1]),
        })
        return self

    def _gate(self) -> LogisticRegression:
        return LogisticRegression(C=self.c_gate, solver="liblinear", class_weight="balanced")

    def _categories(self) -> LogisticRegression:
        return LogisticRegression(C=8.0, solver="newton-cg", max_iter=1000)  # 4x lbfgs, same accuracy

    def _choose_threshold(self, x, y, groups, examples) -> tuple[float, dict[str, Any]]:
        """Gate threshold and category floor from leave-one-writer-out
        probabilities: among floors of the top category's probability, the
        (floor, threshold <= 0.5) pair whose out-of-fold recall is at least
        :data:`TARGET_RECALL` with the fewest out-of-fold false alarms."""
        names = sorted(set(groups))
        if len(names) < 2:
            return 0.5, {}
        gate, top = np.zeros(len(y)), np.ones(len(y))
        labelled = np.array([e.emergency and e.category is not None for e in examples])
        folds = GroupKFold(n_splits=min(FOLDS, len(names)))
        for _, test_rows in folds.split(x, y, groups):
            test = np.zeros(len(y), dtype=bool)
            test[test_rows] = True
            if y[~test].min() == y[~test].max():
                gate[test] = 0.5
                continue
            gate[test] = self._gate().fit(x[~test], y[~test]).predict_proba(x[test])[:, 1]
            train = ~test & labelled
            if len({examples[i].category for i in np.flatnonzero(train)}) > 1:
                head = self._categories().fit(  # float64: newton-cg's line search needs it
                    x[train].astype(np.float64),
                    [examples[i].category for i in np.flatnonzero(train)])
                top[test] = head.predict_proba(x[test]).max(axis=1)
        best = None
        for floor in CATEGORY_FLOORS:
            scores = np.where(top >= floor, gate, 0.0)
            positives = np.sort(scores[y == 1])
            index = int(np.floor((1 - TARGET_RECALL) * len(positives)))
            threshold = float(min(0.5, positives[index])) if len(positives) else 0.5
            if threshold <= 0:
                continue
            fired = scores >= threshold
            false_alarms = float(fired[y == 0].mean()) if (y == 0).any() else 0.0
            if best is None or false_alarms < best[0] - 1e-9:
                best = (false_alarms, floor, threshold, fired)
        _, self.category_floor, threshold, fired = best
        report = {"writers": names, "category_floor": self.category_floor,
                  "recall": round(float(fired[y == 1].mean()), 4),
                  "false_alarm_rate": round(float(fired[y == 0].mean()), 4)}
        by_lang: dict[str, list[int]] = {}
        for i, e in enumerate(examples):
            if e.emergency:
                hit = by_lang.setdefault(e.lang, [0, 0])
                hit[0] += int(fired[i])
                hit[1] += 1
        report["recall_by_lang"] = {k: round(a / b, 4) for k, (a, b) in sorted(by_lang.items())}
        return threshold, report

    # -- prediction --------------------------------------------------------
    def _compile(self) -> None:
        """Each head as a (features x outputs) float32 matrix: a message touches
        a few hundred rows of it, which is much faster than predict_proba."""
        heads = {"gate": self.gate, "categories": self.categories, "subjects": self.subjects}
        self._heads = {name: (np.asarray(h.coef_, dtype=np.float32).T.copy(),
                              np.asarray(h.intercept_, dtype=np.float32), list(h.classes_))
                       for name, h in heads.items() if h is not None}

    def _scores(self, name: str, row) -> tuple[np.ndarray, list] | None:
        head = getattr(self, "_heads", None)
        if head is None:
            self._compile()
            head = self._heads
        if name not in head:
            return None
        weights, bias, classes = head[name]
        logits = row.data @ weights[row.indices] + bias
        if len(classes) == 2:  # binary: one logit for classes[1]
            p = 1.0 / (1.0 + np.exp(-logits[0]))
            return np.array([1.0 - p, p]), classes
        exp = np.exp(logits - logits.max())
        return exp / exp.sum(), classes

    def read(self, text: str, cues: Cues, full: bool = True) -> Reading:
        """Read one message (a few milliseconds, mostly the n-gram features).

        Args:
            full: also read the symptoms and who the patient is (the screen
                alone needs only the emergency and its category).
        """
        row = self.features([text], [cues]).getrow(0)
        gate, _ = self._scores("gate", row)
        p = float(gate[1])
        fired = p >= self.threshold
        category, category_p = None, 0.0
        scored = self._scores("categories", row) if fired else None
        if scored is not None:
            probs, classes = scored
            best = int(np.argmax(probs))
            category, category_p = str(classes[best]), float(probs[best])
            # no category stands out: not an emergency the layer can name
            fired = category_p >= self.category_floor
        if not full:
            return Reading(p, fired, category, category_p, partial=True)
        symptoms = {}
        if self.symptom_ids:
            logits = row.data @ self.symptom_w[row.indices] + self.symptom_b
            probs = 1.0 / (1.0 + np.exp(-logits))
            symptoms = {self.symptom_ids[i]: float(probs[i])
                        for i in np.flatnonzero(probs >= self.symptom_threshold)}
        subject = None
        scored = self._scores("subjects", row)
        if scored is not None:
            probs, classes = scored
            best = int(np.argmax(probs))
            subject = str(classes[best]) if probs[best] >= 0.5 else None
        return Reading(p, fired, category, category_p, symptoms, subject)


__all__ = ["Understanding", "Example", "Cues", "Reading", "SUBJECTS", "FORMAT"]
