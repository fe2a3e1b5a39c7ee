#!/usr/bin/env python3
"""Dev-time benchmark helper: writes a GGUF file of a llama-architecture model directory
(config.json + safetensors, e.g. from make_bench_model) so that llama.cpp's llama-bench and
llama-quantize run on the very weights lamina measures (scripts/bench_llamacpp.sh).

  PYTHONPATH=LLAMA_CPP_SRC/gguf-py /usr/bin/python3 benchmarks/lamina_to_gguf.py MODEL_DIR OUT.gguf

Needs numpy (Debian: python3-numpy) and llama.cpp's gguf-py; neither is a lamina dependency.
The tokenizer is synthetic (<unk>, <s>, </s>, 256 byte tokens, then placeholders up to
vocab_size): enough for llama.cpp to load the model; llama-bench feeds random tokens anyway.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np

import gguf

SAFETENSORS_NUMPY_DTYPES = {"F16": np.float16, "F32": np.float32, "BF16": np.uint16}
MAX_HEADER_BYTES = 100 * 1000 * 1000


def read_safetensors(path):
    """Yields (name, array, safetensors dtype) for every tensor of the file, memory-mapped."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        if header_len > MAX_HEADER_BYTES:
            raise ValueError(f"{path}: header of {header_len} bytes (limit {MAX_HEADER_BYTES})")
        header = json.loads(f.read(header_len))
    data_start = 8 + header_len
    file_size = path.stat().st_size
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in SAFETENSORS_NUMPY_DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has dtype {dtype} (F16, BF16 or F32 only)")
        begin, end = info["data_offsets"]
        if data_start + end > file_size:
            raise ValueError(f"{path}: tensor '{name}' ends at byte {data_start + end} "
                             f"but the file has {file_size} bytes")
        shape = tuple(info["shape"])
        array = np.memmap(path, dtype=SAFETENSORS_NUMPY_DTYPES[dtype], mode="r",
                          offset=data_start + begin, shape=shape)
        yield name, array, dtype


def permute_for_rope(weight, n_head):
    """Hugging Face's q/k row order (rotate-half) to GGUF's (interleaved pairs), as
    llama.cpp's convert_hf_to_gguf.py does for llama checkpoints."""
    return (weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def gguf_name(name):
    """GGUF tensor name of a Hugging Face llama tensor name."""
    fixed = {"model.embed_tokens.weight": "token_embd.weight",
             "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"}
    if name in fixed:
        return fixed[name]
    parts = name.split(".")  # model.layers.N.<module>.<proj>.weight
    if len(parts) < 5 or parts[:2] != ["model", "layers"]:
        raise ValueError(f"tensor '{name}' is not a llama tensor")
    per_block = {"input_layernorm.weight": "attn_norm.weight",
                 "self_attn.q_proj.weight": "attn_q.weight",
                 "self_attn.k_proj.weight": "attn_k.weight",
                 "self_attn.v_proj.weight": "attn_v.weight",
                 "self_attn.o_proj.weight": "attn_output.weight",
                 "post_attention_layernorm.weight": "ffn_norm.weight",
                 "mlp.gate_proj.weight": "ffn_gate.weight",
                 "mlp.up_proj.weight": "ffn_up.weight",
                 "mlp.down_proj.weight": "ffn_down.weight"}
    rest = ".".join(parts[3:])
    if rest not in per_block:
        raise ValueError(f"tensor '{name}' is not a llama tensor")
    return f"blk.{parts[2]}.{per_block[rest]}"


def add_synthetic_vocab(writer, vocab_size):
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    if vocab_size < len(tokens):
        raise ValueError(f"vocab_size {vocab_size}: the synthetic vocabulary needs {len(tokens)}")
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256
    tokens += [f"tok{i}" for i in range(len(tokens), vocab_size)]
    types += [gguf.TokenType.NORMAL] * (vocab_size - len(types))
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * vocab_size)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model_dir, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    config = json.loads((model_dir / "config.json").read_text())
    if config.get("model_type") != "llama":
        raise ValueError(f"{model_dir}/config.json: model_type {config.get('model_type')!r}, not llama")
    n_head = config["num_attention_heads"]
    n_head_kv = config.get("num_key_value_heads", n_head)
    head_dim = config.get("head_dim") or config["hidden_size"] // n_head

    writer = gguf.GGUFWriter(out_path, "llama")
    writer.add_name(model_dir.name)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(config.get("rope_theta", 10000.0))
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_vocab_size(config["vocab_size"])
    add_synthetic_vocab(writer, config["vocab_size"])

    file_types = set()
    files = sorted(model_dir.glob("model*.safetensors"))
    if not files:
        raise ValueError(f"{model_dir}: no model*.safetensors files")
    for path in files:
        for name, array, dtype in read_safetensors(path):
            if name.endswith("self_attn.q_proj.weight"):
                array = permute_for_rope(array, n_head)
            elif name.endswith("self_attn.k_proj.weight"):
                array = permute_for_rope(array, n_head_kv)
            raw_dtype = None
            if array.ndim == 1:  # norms: llama.cpp's converter keeps 1-D tensors in float32
                array = (array.view(np.uint16).astype(np.uint32) << 16).view(np.float32) \
                    if dtype == "BF16" else array.astype(np.float32)
            elif dtype == "BF16":
                raw_dtype = gguf.GGMLQuantizationType.BF16
                file_types.add(gguf.LlamaFileType.MOSTLY_BF16)
            elif dtype == "F16":
                file_types.add(gguf.LlamaFileType.MOSTLY_F16)
            else:
                file_types.add(gguf.LlamaFileType.ALL_F32)
            writer.add_tensor(gguf_name(name), array, raw_dtype=raw_dtype)
    writer.add_file_type(file_types.pop() if len(file_types) == 1 else gguf.LlamaFileType.ALL_F32)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"{out_path}: {out_path.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError, KeyError) as e:
        print(f"lamina_to_gguf.py: {e}", file=sys.stderr)
        sys.exit(1)
