#!/usr/bin/python3
"""charlm_torch.py - the same character LSTM model as `firth charlm train`, in PyTorch.

Same data pipeline (vocabulary = sorted code points, last --val-frac of the text held out, --batch
contiguous streams read --seq characters at a time with the state carried and zeroed at each
epoch), same model (one-hot input, nn.LSTM, nn.Linear, mean cross-entropy), same initialisation
scheme (LSTM and Linear weights uniform in +-1/sqrt(hidden), forget-gate bias 1 with bias_hh = 0),
same optimiser (Adam, lr, betas 0.9/0.999, eps 1e-8), same clipping (clip_grad_norm_), same
validation pass (batch streams over the validation split from a zero state). The random numbers
differ, so losses agree only statistically.

    /usr/bin/python3 bench/charlm_torch.py --input TEXT --layers 2 --hidden 128 --seq 50 \
        --batch 50 --steps 300 --threads 2

Prints one line: "torch steps N chars/s X val_nats Y val_bits Z train_s S".
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--val-frac", type=float, default=0.05)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    text = open(a.input, "rb").read().decode("utf-8", errors="replace")
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    n = len(ids)
    n_val = int(math.floor(n * a.val_frac))
    n_tr = n - n_val
    V, H, T, B, L = len(vocab), a.hidden, a.seq, a.batch, a.layers
    Ls = n_tr // B
    cpe = (Ls - 1) // T
    streams = ids[: B * Ls].view(B, Ls)  # stream b = ids[b Ls : (b + 1) Ls]

    lstm = torch.nn.LSTM(V, H, num_layers=L)
    lin = torch.nn.Linear(H, V)
    k = 1.0 / math.sqrt(H)
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.uniform_(-k, k)
            if name.startswith("bias_hh"):
                p.zero_()
            elif name.startswith("bias_ih"):
                p[H:2 * H] = 1.0  # forget gate (PyTorch's order i, f, g, o)
        lin.weight.uniform_(-k, k)
        lin.bias.uniform_(-k, k)
    params = list(lstm.parameters()) + list(lin.parameters())
    opt = torch.optim.Adam(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8)

    def forward(x, state):
        out, state = lstm(F.one_hot(x, V).float(), state)
        return lin(out), state

    state = (torch.zeros(L, B, H), torch.zeros(L, B, H))
    chunk = 0
    t0 = time.perf_counter()
    for step in range(a.steps):
        if chunk >= cpe:
            chunk = 0
            state = (torch.zeros(L, B, H), torch.zeros(L, B, H))
        s = chunk * T
        x = streams[:, s:s + T].t().contiguous()  # (T, B)
        y = streams[:, s + 1:s + T + 1].t().contiguous()
        state = (state[0].detach(), state[1].detach())
        logits, state = forward(x, state)
        loss = F.cross_entropy(logits.reshape(T * B, V), y.reshape(-1))
        opt.zero_grad(set_to_none=False)
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(params, a.clip)
        opt.step()
        chunk += 1
        if not math.isfinite(loss.item()):
            raise SystemExit("diverged")
    train_s = time.perf_counter() - t0

    # validation as firth's eval: min(B, n - 1) streams, seq at a time, state carried
    val = ids[n_tr:]
    nv = len(val)
    Bv = min(B, nv - 1)
    Lv = (nv - 1) // Bv
    vx = val[: Bv * Lv].view(Bv, Lv)
    vy = val[1: Bv * Lv + 1]
    vy = torch.stack([val[b * Lv + 1: b * Lv + Lv + 1] for b in range(Bv)])
    total = 0.0
    with torch.no_grad():
        st = (torch.zeros(L, Bv, H), torch.zeros(L, Bv, H))
        for s in range(0, Lv, T):
            x = vx[:, s:s + T].t().contiguous()
            y = vy[:, s:s + T].t().contiguous()
            logits, st = forward(x, st)
            total += F.cross_entropy(logits.reshape(-1, V), y.reshape(-1), reduction="sum").item()
    val_nats = total / (Bv * Lv)
    print("torch steps %d chars/s %.0f val_nats %.4f val_bits %.4f train_s %.2f"
          % (a.steps, a.steps * T * B / train_s, val_nats, val_nats / math.log(2), train_s))


if __name__ == "__main__":
    main()
