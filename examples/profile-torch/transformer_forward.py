"""A small transformer's forward pass, repeated: a PyTorch program for `etok profile` (cuBLAS matrix products,
fused attention, layer norms, elementwise kernels, as a real model launches them). It prints a SHA-256 of its
outputs, which must be the same with and without profiling (bench/gpu/profile_check.sh compares them).

    etok profile --meter nvml:0 --top 6 -- python3 examples/profile-torch/transformer_forward.py --steps 200
"""

import argparse
import hashlib
import os

# Deterministic cuBLAS, so two runs of this program print the same checksum (set before CUDA starts).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import torch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=1024)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    layer = torch.nn.TransformerEncoderLayer(
        d_model=args.width, nhead=args.width // 64, dim_feedforward=4 * args.width, batch_first=True, norm_first=True
    )
    model = torch.nn.TransformerEncoder(layer, num_layers=args.layers, enable_nested_tensor=False)
    model = model.to("cuda", torch.bfloat16).eval()
    x = torch.randn(args.batch, args.seq, args.width, device="cuda", dtype=torch.bfloat16)
    digest = hashlib.sha256()
    with torch.inference_mode():
        for step in range(args.steps):
            y = model(x)
            if step % 50 == 49 or step == args.steps - 1:
                digest.update(y.float().cpu().numpy().tobytes())
    torch.cuda.synchronize()
    print(f"transformer_forward: {args.steps} steps, checksum {digest.hexdigest()}")


if __name__ == "__main__":
    main()
