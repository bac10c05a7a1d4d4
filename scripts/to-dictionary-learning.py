#!/usr/bin/env python3
"""Convert an sae dictionary (a run directory or a `sae export-dictionary --format saelens`
folder: cfg.json + sae_weights.safetensors) into dictionary_learning's checkpoint layout:
ae.pt (a torch state_dict) + config.json ({"trainer": {"dict_class", "activation_dim",
"dict_size", ...}}), the pair its utils.load_dictionary(path) reads.

    python3 scripts/to-dictionary-learning.py runs/topk out/topk-dl

Which dictionary_learning class receives the weights (its state_dict names and shapes):
  standard (ReLU)  AutoEncoder           bias [d], encoder.weight [m, d], encoder.bias [m],
                                         decoder.weight [d, m]; relu(encoder(x - bias))
  topk             AutoEncoderTopK       encoder.weight, encoder.bias, decoder.weight [d, m],
                                         b_dec [d], k (buffer), threshold (buffer, -1: unused)
  jumprelu         JumpReluAutoEncoder   W_enc [d, m], b_enc [m], W_dec [m, d], b_dec [d],
  (and batchtopk)                        threshold [m]. Its encoder does not subtract b_dec
                                         from the input, so b_enc holds b_enc - b_dec W_enc.
Needs torch (and numpy); reads safetensors itself. Exit status 2 with a one-line message on bad input.
"""
import json
import os
import struct
import sys

import numpy as np

try:
    import torch
except ImportError:
    sys.exit("to-dictionary-learning: this Python has no torch; install it (e.g. apt-get install python3-torch) or run another Python")

DTYPES = {"F32": np.float32, "F16": np.float16, "I32": np.int32}


def fail(msg):
    print(f"to-dictionary-learning: {msg}", file=sys.stderr)
    sys.exit(2)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] not in DTYPES:
            fail(f"{path}: tensor {name} has dtype {t['dtype']}, expected F32, F16 or I32")
        a, b = t["data_offsets"]
        arr = np.frombuffer(data[8 + n + a : 8 + n + b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out


def convert(src, dst):
    cfg_path = os.path.join(src, "cfg.json")
    weights_path = os.path.join(src, "sae_weights.safetensors")
    for p in (cfg_path, weights_path):
        if not os.path.isfile(p):
            fail(f"{p} is missing: give a run directory or a `sae export-dictionary --format saelens` folder")
    with open(cfg_path) as f:
        cfg = json.load(f)
    w = read_safetensors(weights_path)
    d, m = cfg["d_in"], cfg["d_sae"]
    for name, shape in (("W_enc", (d, m)), ("b_enc", (m,)), ("W_dec", (m, d)), ("b_dec", (d,))):
        if name not in w or tuple(w[name].shape) != shape:
            fail(f"{weights_path}: tensor {name} is missing or not of shape {list(shape)}")
    arch = cfg.get("architecture", "standard")
    W_enc, b_enc, W_dec, b_dec = w["W_enc"], w["b_enc"], w["W_dec"], w["b_dec"]
    trainer = {"activation_dim": d, "dict_size": m}
    if arch == "standard":
        trainer["dict_class"] = "AutoEncoder"
        state = {"bias": b_dec, "encoder.weight": W_enc.T.contiguous(), "encoder.bias": b_enc, "decoder.weight": W_dec.T.contiguous()}
    elif arch == "topk":
        k = cfg.get("k", (cfg.get("activation_fn_kwargs") or {}).get("k"))
        if not isinstance(k, int) or k <= 0:
            fail(f"{cfg_path}: architecture 'topk' without a positive integer k")
        trainer.update(dict_class="AutoEncoderTopK", k=k)
        state = {
            "encoder.weight": W_enc.T.contiguous(),
            "encoder.bias": b_enc,
            "decoder.weight": W_dec.T.contiguous(),
            "b_dec": b_dec,
            "k": torch.tensor(k, dtype=torch.int),
            "threshold": torch.tensor(-1.0, dtype=torch.float32),
        }
    elif arch == "jumprelu":
        if "threshold" not in w or tuple(w["threshold"].shape) != (m,):
            fail(f"{weights_path}: architecture 'jumprelu' needs a threshold tensor of shape [{m}]")
        trainer["dict_class"] = "JumpReluAutoEncoder"
        state = {"W_enc": W_enc, "b_enc": b_enc - b_dec @ W_enc, "W_dec": W_dec, "b_dec": b_dec, "threshold": w["threshold"]}
    else:
        fail(f"{cfg_path}: architecture '{arch}' has no dictionary_learning counterpart here (expected standard, topk or jumprelu)")
    meta = cfg.get("metadata") or {}
    trainer.update(
        lm_name=cfg.get("model_name", meta.get("model_name")),
        layer=cfg.get("hook_layer", meta.get("hook_layer")),
        submodule_name=cfg.get("hook_name", meta.get("hook_name")),
        trainer_class="sae (converted by scripts/to-dictionary-learning.py)",
    )
    os.makedirs(dst, exist_ok=True)
    torch.save(state, os.path.join(dst, "ae.pt"))
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump({"trainer": trainer, "buffer": {"d_submodule": d}}, f, indent=2)
    print(f"wrote {dst}/ae.pt and config.json ({trainer['dict_class']}, d {d}, {m} features)")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        fail("usage: to-dictionary-learning.py SAE_FOLDER OUT_FOLDER")
    convert(sys.argv[1], sys.argv[2])
