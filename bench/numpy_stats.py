#!/usr/bin/python3
"""The baseline for `npm run bench`: the same statistics as `importance-lens stats`, written the way a numpy user
would (memmap the safetensors file, per tensor: float64 moments, absmax, zeros, outliers, and the stable rank by
power iteration on WᵀW; left out with --no-stable-rank, as `stats --no-stable-rank` leaves it out). Prints the
elapsed seconds of the statistics (file already in page cache).

Stable rank, two stopping rules:
  default       the same accuracy as ours: iterate until the residual bound ‖WᵀWv − θv‖ ≤ 1 % of the Rayleigh
                quotient θ (src/compute/spectral.ts STABLE_RANK_TOLERANCE and its rule: an eigenvalue of WᵀW lies
                within that bound above θ), at most 1000 steps;
  --20-steps    the usual quick script: at most 20 steps, stopping on a 1e-4 relative change of ‖Wv‖, with no bound
                (on the bench's i.i.d. 4096² matrices it stops 2.4 % below σ²_max: the top of the spectrum crowds).
"""
import json, struct, sys, time
import numpy as np

DTYPES = {'F32': np.float32, 'F16': np.float16, 'F64': np.float64}
path = sys.argv[1]
with_rank = '--no-stable-rank' not in sys.argv[2:]
quick = '--20-steps' in sys.argv[2:]
start = time.perf_counter()
with open(path, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
data = np.memmap(path, dtype=np.uint8, mode='r', offset=8 + n)
results = {}
for name, info in header.items():
    if name == '__metadata__':
        continue
    begin, end = info['data_offsets']
    raw = data[begin:end]
    if info['dtype'] == 'BF16':
        x = (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    else:
        x = raw.view(DTYPES[info['dtype']])
    x = x.reshape(info['shape'])
    x64 = x.astype(np.float64)
    mean = x64.mean()
    c = x64 - mean
    c2 = c * c
    m2 = c2.mean()
    std = np.sqrt(m2)
    stats = {'l2': float(np.sqrt(np.dot(x64.ravel(), x64.ravel()))), 'mean': float(mean), 'std': float(std),
             'absmax': float(np.abs(x).max()), 'zeros': float(np.count_nonzero(x == 0) / x.size),
             'kurtosis': float((c2 * c2).mean() / m2 ** 2 - 3), 'outliers': float(np.count_nonzero(np.abs(c) > 6 * std) / x.size)}
    if with_rank and x.ndim == 2:
        w = np.ascontiguousarray(x, dtype=np.float32)
        v = np.random.default_rng(0).standard_normal(w.shape[1]).astype(np.float32)
        v /= np.linalg.norm(v)
        if quick:
            sigma = 0.0
            for _ in range(20):
                u = w @ v
                nxt = float(np.linalg.norm(u))
                z = w.T @ u
                v = z / np.linalg.norm(z)
                done = abs(nxt - sigma) <= 1e-4 * nxt
                sigma = nxt
                if done:
                    break
            sigma2 = sigma ** 2
        else:
            for _ in range(1000):
                z = w.T @ (w @ v)
                sigma2 = float(v @ z)
                if np.linalg.norm(z - sigma2 * v) <= 1e-2 * sigma2:
                    break
                v = z / np.linalg.norm(z)
        stats['stableRank'] = float(stats['l2'] ** 2 / sigma2)
    results[name] = stats
print(f'{time.perf_counter() - start:.3f}')
