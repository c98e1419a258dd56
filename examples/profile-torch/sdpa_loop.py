"""Scaled dot-product attention in a loop (PyTorch SDPA, whichever backend it picks on this GPU), feeding each
output back as the next query: a PyTorch program for `etok profile` whose state changes every step, so a replay
that did not restore device memory would change its printed checksum.

    etok profile --meter nvml:0 -- python3 examples/profile-torch/sdpa_loop.py --steps 2000
"""

import argparse
import hashlib

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--heads", type=int, default=32)
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--head-dim", type=int, default=128)
    args = parser.parse_args()
    torch.manual_seed(0)
    shape = (args.batch, args.heads, args.seq, args.head_dim)
    q = torch.randn(shape, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(shape, device="cuda", dtype=torch.bfloat16)
    v = torch.randn(shape, device="cuda", dtype=torch.bfloat16)
    with torch.inference_mode():
        for _ in range(args.steps):
            q = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.cuda.synchronize()
    digest = hashlib.sha256(q.float().cpu().numpy().tobytes()).hexdigest()
    print(f"sdpa_loop: {args.steps} steps, checksum {digest}")


if __name__ == "__main__":
    main()
