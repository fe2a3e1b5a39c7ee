#!/usr/bin/env python3
"""Writes tests/data/zoo/: one tiny valid Llama model and broken copies of it.

Run from the repository root:   python3 scripts/make_malformed_zoo.py
It needs only the Python standard library, is deterministic (fixed seed, no timestamps),
and replaces tests/data/zoo/ completely; commit what it writes. tests/cli/
malformed_zoo_test.cpp runs lamina on every case and describes what each must say.

Cases (directory: what is wrong):
  valid                     nothing: a float16 Llama (hidden 32, 2 layers, byte-level BPE)
  valid-quantized           nothing: the same with 4-bit MLX-quantized linear layers
  truncated-shard           a sharded checkpoint whose second shard is cut short
  index-missing-shard       model.safetensors.index.json names a shard that is not there
  header-past-eof           the 8-byte header length claims more bytes than the file has
  dtype-mismatch            a float weight stored as I32
  shape-mismatch            config.json's intermediate_size disagrees with the tensors
  missing-tensor            a tensor the config implies is absent
  nan-weight                a NaN in one weight
  inf-weight                an infinity in one weight
  float16-overflow          finite float16 weights whose logits overflow float16 (they are
                            fine in float32: generate must say so, not print garbage)
  quantized-missing-scales  a packed (uint32) weight without its .scales
  config-missing-key        config.json without hidden_size
  tokenizer-unknown-model   tokenizer.json's model type is one no library knows
  chat-template-raises      chat_template.jinja calls raise_exception()
"""

import json
import math
import os
import random
import shutil
import struct
import sys

ZOO = os.path.join("tests", "data", "zoo")

HIDDEN = 32
LAYERS = 2
HEADS = 2
KV_HEADS = 1
HEAD_DIM = 16
INTERMEDIATE = 32
CONTEXT = 256
GROUP_SIZE = 32
BITS = 4

# ---------------------------------------------------------------------------- tokenizer


def byte_level_alphabet():
    """GPT-2's map from bytes to printable characters (byte-level BPE vocab entries)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars = {}
    extra = 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def make_tokenizer():
    chars = byte_level_alphabet()
    vocab = {chars[b]: b for b in range(256)}
    space = chars[ord(" ")]
    merge_pairs = [(space, "t"), ("h", "e"), (space + "t", "he"), ("i", "n"), ("e", "r"),
                   (space, "a"), ("o", "u"), (space, "s"), ("a", "n"), ("n", "d"),
                   (space + "a", "nd"), ("o", "r"), (space, "w"), ("e", "n"), ("a", "t")]
    merges = []
    for left, right in merge_pairs:
        vocab[left + right] = len(vocab)
        merges.append(left + " " + right)
    eos = "<|end|>"
    user = "<|user|>"
    assistant = "<|assistant|>"
    specials = [eos, user, assistant]
    added = []
    for content in specials:
        added.append({"id": len(vocab) + len(added), "content": content, "single_word": False,
                      "lstrip": False, "rstrip": False, "normalized": False, "special": True})
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": True}
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None, "pre_tokenizer": byte_level, "post_processor": None,
        "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "ignore_merges": False, "vocab": vocab,
                  "merges": merges},
    }
    config = {"bos_token": None, "eos_token": eos, "pad_token": eos, "unk_token": None,
              "model_max_length": CONTEXT, "tokenizer_class": "PreTrainedTokenizerFast"}
    vocab_size = len(vocab) + len(added)
    return tokenizer, config, vocab_size, vocab_size - len(added)


CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)

# ---------------------------------------------------------------------------- weights


def tensor_shapes(intermediate=INTERMEDIATE):
    shapes = []
    for i in range(LAYERS):
        p = "model.layers.%d." % i
        shapes += [
            (p + "input_layernorm.weight", [HIDDEN]),
            (p + "self_attn.q_proj.weight", [HEADS * HEAD_DIM, HIDDEN]),
            (p + "self_attn.k_proj.weight", [KV_HEADS * HEAD_DIM, HIDDEN]),
            (p + "self_attn.v_proj.weight", [KV_HEADS * HEAD_DIM, HIDDEN]),
            (p + "self_attn.o_proj.weight", [HIDDEN, HEADS * HEAD_DIM]),
            (p + "post_attention_layernorm.weight", [HIDDEN]),
            (p + "mlp.gate_proj.weight", [intermediate, HIDDEN]),
            (p + "mlp.up_proj.weight", [intermediate, HIDDEN]),
            (p + "mlp.down_proj.weight", [HIDDEN, intermediate]),
        ]
    return shapes


def make_weights(vocab_size):
    """name -> (dtype code, shape, list of float values), in a fixed order."""
    rng = random.Random(20240607)
    weights = {"model.embed_tokens.weight": ("F16", [vocab_size, HIDDEN],
                                             [rng.gauss(0.0, 0.5) for _ in range(vocab_size * HIDDEN)])}
    for name, shape in tensor_shapes():
        n = math.prod(shape)
        if "layernorm" in name:
            values = [1.0 + rng.uniform(-0.1, 0.1) for _ in range(n)]
        else:
            scale = 1.0 / math.sqrt(shape[-1])
            values = [rng.uniform(-scale, scale) for _ in range(n)]
        weights[name] = ("F16", shape, values)
    weights["model.norm.weight"] = ("F16", [HIDDEN], [1.0] * HIDDEN)
    return weights


def pack(dtype, values):
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "I32":
        return struct.pack("<%di" % len(values), *values)
    if dtype == "U32":
        return struct.pack("<%dI" % len(values), *values)
    raise ValueError(dtype)


def safetensors_bytes(weights, names=None):
    names = list(weights) if names is None else names
    header = {"__metadata__": {"format": "mlx"}}
    data = b""
    for name in names:
        dtype, shape, values = weights[name]
        blob = pack(dtype, values)
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def quantize(shape, values):
    """MLX affine quantization (the simple min/max variant: any scale and bias are valid)."""
    rows, cols = shape
    n_bins = (1 << BITS) - 1
    words, scales, biases = [], [], []
    for r in range(rows):
        row = values[r * cols:(r + 1) * cols]
        q_row = []
        for g in range(0, cols, GROUP_SIZE):
            group = row[g:g + GROUP_SIZE]
            lo, hi = min(group), max(group)
            scale = max((hi - lo) / n_bins, 1e-7)
            scale = struct.unpack("<e", struct.pack("<e", scale))[0]  # stored as float16
            lo = struct.unpack("<e", struct.pack("<e", lo))[0]
            q_row += [min(n_bins, max(0, round((v - lo) / scale))) for v in group]
            scales.append(scale)
            biases.append(lo)
        per_word = 32 // BITS
        for w in range(0, cols, per_word):
            word = 0
            for j, q in enumerate(q_row[w:w + per_word]):
                word |= q << (j * BITS)
            words.append(word)
    packed = ("U32", [rows, cols * BITS // 32], words)
    groups = [rows, cols // GROUP_SIZE]
    return packed, ("F16", groups, scales), ("F16", groups, biases)


def quantized_weights(weights):
    out = {}
    for name, (dtype, shape, values) in weights.items():
        if name.endswith("_proj.weight"):
            module = name[: -len(".weight")]
            packed, scales, biases = quantize(shape, values)
            out[module + ".weight"] = packed
            out[module + ".scales"] = scales
            out[module + ".biases"] = biases
        else:
            out[name] = (dtype, shape, values)
    return out


def base_config(vocab_size, eos_id):
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE, "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "head_dim": HEAD_DIM,
        "vocab_size": vocab_size, "max_position_embeddings": CONTEXT, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "tie_word_embeddings": True, "hidden_act": "silu",
        "attention_bias": False, "mlp_bias": False, "bos_token_id": None,
        "eos_token_id": eos_id, "torch_dtype": "float16",
    }

# ---------------------------------------------------------------------------- writing


def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(path, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"})) as f:
        f.write(content)


def write_json(path, value):
    write(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


class Model:
    """The files of one model directory, written out by save()."""

    def __init__(self, config, weights, tokenizer, tokenizer_config):
        self.config = json.loads(json.dumps(config))
        self.weights = dict(weights)
        self.tokenizer = json.loads(json.dumps(tokenizer))
        self.tokenizer_config = dict(tokenizer_config)
        self.chat_template = CHAT_TEMPLATE
        self.files = {}  # extra or replaced files: name -> bytes

    def save(self, name, sharded=False):
        d = os.path.join(ZOO, name)
        write_json(os.path.join(d, "config.json"), self.config)
        write_json(os.path.join(d, "tokenizer.json"), self.tokenizer)
        write_json(os.path.join(d, "tokenizer_config.json"), self.tokenizer_config)
        write(os.path.join(d, "chat_template.jinja"), self.chat_template)
        if sharded:
            names = list(self.weights)
            half = len(names) // 2
            shards = [("model-00001-of-00002.safetensors", names[:half]),
                      ("model-00002-of-00002.safetensors", names[half:])]
            weight_map = {}
            for file, part in shards:
                write(os.path.join(d, file), safetensors_bytes(self.weights, part))
                weight_map.update({n: file for n in part})
            total = sum(len(pack(*self.weights[n][::2])) for n in names)
            write_json(os.path.join(d, "model.safetensors.index.json"),
                       {"metadata": {"total_size": total},
                        "weight_map": dict(sorted(weight_map.items()))})
        else:
            write(os.path.join(d, "model.safetensors"), safetensors_bytes(self.weights))
        for file, content in self.files.items():
            write(os.path.join(d, file), content)
        return d


def main():
    if not os.path.isdir("tests") or not os.path.isdir("scripts"):
        sys.exit("run from the repository root: python3 scripts/make_malformed_zoo.py")
    shutil.rmtree(ZOO, ignore_errors=True)
    tokenizer, tokenizer_config, vocab_size, eos_id = make_tokenizer()
    weights = make_weights(vocab_size)
    config = base_config(vocab_size, eos_id)

    def base():
        return Model(config, weights, tokenizer, tokenizer_config)

    base().save("valid")

    quantized = base()
    quantized.weights = quantized_weights(weights)
    quantized.config["quantization"] = {"group_size": GROUP_SIZE, "bits": BITS, "mode": "affine"}
    quantized.config["quantization_config"] = dict(quantized.config["quantization"])
    quantized.save("valid-quantized")

    d = base().save("truncated-shard", sharded=True)
    shard = os.path.join(d, "model-00002-of-00002.safetensors")
    with open(shard, "rb") as f:
        content = f.read()
    write(shard, content[: len(content) - 1000])

    d = base().save("index-missing-shard", sharded=True)
    os.remove(os.path.join(d, "model-00002-of-00002.safetensors"))

    m = base()
    d = m.save("header-past-eof")
    path = os.path.join(d, "model.safetensors")
    with open(path, "rb") as f:
        content = f.read()
    write(path, struct.pack("<Q", len(content) + 4096) + content[8:])

    m = base()
    name = "model.layers.0.mlp.gate_proj.weight"
    dtype, shape, values = m.weights[name]
    m.weights[name] = ("I32", shape, [int(v * 1000) for v in values])
    m.save("dtype-mismatch")

    m = base()
    m.config["intermediate_size"] = 48
    m.save("shape-mismatch")

    m = base()
    del m.weights["model.layers.1.mlp.up_proj.weight"]
    m.save("missing-tensor")

    m = base()
    name = "model.layers.0.mlp.down_proj.weight"
    dtype, shape, values = m.weights[name]
    m.weights[name] = (dtype, shape, values[:17] + [float("nan")] + values[18:])
    m.save("nan-weight")

    m = base()
    name = "model.layers.1.self_attn.o_proj.weight"
    dtype, shape, values = m.weights[name]
    m.weights[name] = (dtype, shape, values[:5] + [float("inf")] + values[6:])
    m.save("inf-weight")

    m = base()
    m.weights["model.norm.weight"] = ("F16", [HIDDEN], [60000.0] * HIDDEN)
    m.save("float16-overflow")

    m = base()
    m.weights = quantized_weights(weights)
    del m.weights["model.layers.0.self_attn.q_proj.scales"]
    m.config = quantized.config
    m.save("quantized-missing-scales")

    m = base()
    del m.config["hidden_size"]
    m.save("config-missing-key")

    m = base()
    m.tokenizer["model"]["type"] = "HyperBPE"
    m.save("tokenizer-unknown-model")

    m = base()
    m.chat_template = "{{ raise_exception('This model cannot chat: use a base-model prompt') }}"
    m.save("chat-template-raises")

    write(os.path.join(ZOO, "README.md"),
          "# Malformed-model zoo\n\nGenerated by scripts/make_malformed_zoo.py; do not edit by hand.\n\n```\n" +
          __doc__.strip() + "\n```\n")

    total = 0
    for root, _, files in os.walk(ZOO):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print("wrote %s (%d bytes)" % (ZOO, total))


if __name__ == "__main__":
    main()
