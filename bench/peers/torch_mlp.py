#!/usr/bin/python3
"""PyTorch peer for bench/compare.ts: the same MLP, data, batch size, lr and epochs as gradpool.

Reads DIR/x.f32 (rows x features, float32 little-endian, row-major) and DIR/y.i32 (rows int32
class indices) written by compare.ts, trains with plain SGD (no momentum), reshuffling every
epoch, and prints one JSON object on the last line of stdout:
  {"peer": "torch", "version": ..., "threads": T, "config": [...], "epochs": [{"epoch", "samplesPerSec", "loss", "accuracy"}]}
Errors print {"error": "..."} and exit 1. Only the torch standard library is used (no numpy).

Thread settings: compare.ts sets OMP_NUM_THREADS / MKL_NUM_THREADS (and the OpenBLAS thread
count) in this process's environment; here torch.set_num_threads(T) and
torch.set_num_interop_threads(1) are called before any work.
"""
import argparse
import json
import os
import sys
import time


def loaded_math_libraries() -> list:
    """The BLAS/LAPACK/oneDNN shared objects really mapped into this process (Linux), resolved.

    Debian's torch reports BLAS_INFO=generic: it calls whatever libblas.so.3 the alternatives
    system points to (reference BLAS unless OpenBLAS or BLIS is installed), so look.
    """
    found = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if "/" in line else ""
                name = os.path.basename(path).lower()
                if any(key in name for key in ("blas", "lapack", "mkl", "blis", "dnnl", "gomp", "omp")):
                    found.add(os.path.realpath(path))
    except OSError:
        return []
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--features", type=int, required=True)
    parser.add_argument("--classes", type=int, required=True)
    parser.add_argument("--layers", required=True, help="hidden sizes, e.g. 128,64")
    parser.add_argument("--activation", choices=["relu", "sigmoid", "tanh"], required=True)
    parser.add_argument("--loss", choices=["cross-entropy", "bce"], required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--lr", type=float, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    try:
        import torch
        from torch import nn
    except Exception as error:  # noqa: BLE001 - any import failure means "peer absent"
        print(json.dumps({"skipped": f"cannot import torch: {error}"}))
        return 0

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)

    config = torch.__config__.show().splitlines()
    capability = None
    try:
        capability = torch.backends.cpu.get_cpu_capability()
    except Exception:  # noqa: BLE001 - older torch
        pass
    # The show() lines up to the long "Build settings" one, plus the build settings that matter here.
    head = []
    for line in config:
        if "Build settings:" in line:
            settings = [item.strip() for item in line.split(":", 1)[1].split(",")]
            head.append("  - " + ", ".join(item for item in settings if item.split("=")[0] in ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_OPENMP", "TORCH_VERSION")))
            continue
        head.append(line)
    blas = [line.strip().lstrip("- ") for line in head[1:] if any(key in line for key in ("BLAS", "LAPACK", "MKL", "CPU capability", "OpenMP"))]

    with open(os.path.join(args.dir, "x.f32"), "rb") as f:
        x_bytes = bytearray(f.read())
    with open(os.path.join(args.dir, "y.i32"), "rb") as f:
        y_bytes = bytearray(f.read())
    if sys.byteorder != "little":
        print(json.dumps({"error": "the data files are little-endian; this machine is not"}))
        return 1
    x = torch.frombuffer(x_bytes, dtype=torch.float32).reshape(args.rows, args.features)
    labels = torch.frombuffer(y_bytes, dtype=torch.int32)
    if labels.numel() != args.rows:
        print(json.dumps({"error": f"y.i32 has {labels.numel()} labels, expected {args.rows}"}))
        return 1

    hidden = [int(size) for size in args.layers.split(",") if size.strip()]
    activation = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[args.activation]
    outputs = 1 if args.loss == "bce" else args.classes
    modules = []
    width = args.features
    for size in hidden:
        modules += [nn.Linear(width, size), activation()]
        width = size
    modules.append(nn.Linear(width, outputs))
    model = nn.Sequential(*modules)

    if args.loss == "bce":
        # One sigmoid output + binary cross-entropy, fused for stability (as gradpool's kernel is).
        criterion = nn.BCEWithLogitsLoss()
        y = labels.to(torch.float32).reshape(-1, 1)
    else:
        # Softmax + cross-entropy on logits.
        criterion = nn.CrossEntropyLoss()
        y = labels.to(torch.int64)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)

    generator = torch.Generator().manual_seed(args.seed)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(args.rows, generator=generator)
        started = time.perf_counter()
        loss_sum = 0.0
        correct = 0
        for start in range(0, args.rows, args.batch_size):
            index = order[start:start + args.batch_size]
            xb = x.index_select(0, index)
            yb = y.index_select(0, index)
            optimizer.zero_grad(set_to_none=True)
            out = model(xb)
            loss = criterion(out, yb)
            loss.backward()
            optimizer.step()
            # gradpool also reports loss and accuracy for every step; do the same work here.
            with torch.no_grad():
                loss_sum += loss.item() * index.numel()
                if args.loss == "bce":
                    correct += int(((out > 0).to(torch.float32) == yb).sum().item())
                else:
                    correct += int((out.argmax(dim=1) == yb).sum().item())
        seconds = time.perf_counter() - started
        epochs.append({
            "epoch": epoch,
            "samplesPerSec": args.rows / seconds,
            "loss": loss_sum / args.rows,
            "accuracy": correct / args.rows,
        })

    print(json.dumps({
        "peer": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "cpuCapability": capability,
        "blas": blas,
        "config": head[:12],
        "libraries": loaded_math_libraries(),
        "env": {key: os.environ.get(key) for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "epochs": epochs,
    }))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001 - reported to compare.ts as a failed peer
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        sys.exit(1)
