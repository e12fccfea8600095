#!/usr/bin/python3
"""charlm_torch_ref.py - PyTorch reference for firth's character LSTM model (tests/test_charlm.c).

Builds a tiny model (vocab 7, 2 LSTM layers of 5 units, seq 4, batch 3) in PyTorch with fixed
weights (torch.manual_seed), in float64, runs one forward and backward pass of the mean
cross-entropy from a non-zero initial state, and writes weights, inputs, targets, initial state,
logits, loss, every gradient and the final state to a small binary fixture. Two fixtures: one-hot
input (as char-rnn) and a learned embedding of size 4.

Regenerate (Debian python3-torch; scripts/deps.sh --test installs it):

    /usr/bin/python3 tests/ref/charlm_torch_ref.py tests/fixtures

Layout mapping. PyTorch's nn.LSTM stores weight_ih_l{k} as (4H, I) with gate rows ordered
i, f, g, o and has two bias vectors b_ih and b_hh that are always added together. firth stores
wx as (I, 4H) with gates ordered i, f, o, g and one bias b. So
    wx = weight_ih[perm].T,  wh = weight_hh[perm].T,  b = (bias_ih + bias_hh)[perm]
with perm = rows [0:H) [H:2H) [3H:4H) [2H:3H), and the same for the gradients (the gradient of
b is that of bias_ih, equal to that of bias_hh). nn.Linear's weight (V, H) is stored transposed
as wy (H, V).

Fixture layout (little-endian):
    char[8] "FIRTHCLR"; u32 version 1; u32 V, E, L, H, T, B        (E = 0: one-hot)
    f32 parameters in firth's order: [emb (V, E) if E], per layer wx (I, 4H), wh (H, 4H), b (4H),
        then wy (H, V), by (V)
    i32 ids (T, B); i32 targets (T, B)
    f32 h0 (L, B, H); f32 c0 (L, B, H)
    f32 logits (T B, V); f64 loss (mean over T B)
    f32 gradients in the parameter order above
    f32 hT (L, B, H); f32 cT (L, B, H)
"""
import os
import struct
import sys

import torch
import torch.nn.functional as F

V, L, H, T, B = 7, 2, 5, 4, 3


def perm_rows(h):
    idx = list(range(0, 2 * h)) + list(range(3 * h, 4 * h)) + list(range(2 * h, 3 * h))
    return torch.tensor(idx)


def f32(t):
    t = t.detach().to(torch.float32).contiguous().reshape(-1)
    return struct.pack("<%df" % t.numel(), *t.tolist())


def i32(t):
    t = t.contiguous().reshape(-1)
    return struct.pack("<%di" % t.numel(), *[int(v) for v in t.tolist()])


def case(E, seed, path):
    torch.manual_seed(seed)
    dt = torch.float64
    I0 = E if E else V
    lstm = torch.nn.LSTM(I0, H, num_layers=L).to(dt)
    lin = torch.nn.Linear(H, V).to(dt)
    emb = torch.nn.Embedding(V, E).to(dt) if E else None
    with torch.no_grad():  # larger than the default init, so that the gates leave their linear part
        for p in lstm.parameters():
            p.uniform_(-0.8, 0.8)
        lin.weight.uniform_(-0.8, 0.8)
        lin.bias.uniform_(-0.5, 0.5)
    ids = torch.randint(0, V, (T, B))
    targets = torch.randint(0, V, (T, B))
    h0 = (torch.rand(L, B, H, dtype=dt) * 2 - 1) * 0.7
    c0 = (torch.rand(L, B, H, dtype=dt) * 2 - 1) * 1.2

    x = emb(ids) if E else F.one_hot(ids, V).to(dt)
    out, (hT, cT) = lstm(x, (h0, c0))
    logits = lin(out).reshape(T * B, V)
    logits.retain_grad()
    loss = F.cross_entropy(logits, targets.reshape(-1))
    loss.backward()

    pr = perm_rows(H)

    def params(grad):
        g = (lambda p: p.grad) if grad else (lambda p: p)
        blobs = []
        if E:
            blobs.append(f32(g(emb.weight)))
        for k in range(L):
            wih, whh = getattr(lstm, "weight_ih_l%d" % k), getattr(lstm, "weight_hh_l%d" % k)
            bih, bhh = getattr(lstm, "bias_ih_l%d" % k), getattr(lstm, "bias_hh_l%d" % k)
            blobs.append(f32(g(wih)[pr].t()))
            blobs.append(f32(g(whh)[pr].t()))
            blobs.append(f32(g(bih)[pr] if grad else (bih + bhh)[pr]))
        blobs.append(f32(g(lin.weight).t()))
        blobs.append(f32(g(lin.bias)))
        return b"".join(blobs)

    data = b"FIRTHCLR" + struct.pack("<7I", 1, V, E, L, H, T, B)
    data += params(False) + i32(ids) + i32(targets) + f32(h0) + f32(c0)
    data += f32(logits) + struct.pack("<d", float(loss))
    data += params(True) + f32(hT) + f32(cT)
    with open(path, "wb") as fh:
        fh.write(data)
    print("%s: %d bytes, loss %.6f" % (path, len(data), float(loss)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..",
                                                              "fixtures")
    os.makedirs(out, exist_ok=True)
    case(0, 1, os.path.join(out, "charlm_torch_onehot.bin"))
    case(4, 2, os.path.join(out, "charlm_torch_embed.bin"))


if __name__ == "__main__":
    main()
