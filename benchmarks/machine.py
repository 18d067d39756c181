"""Describe the machine and libraries a benchmark ran on (goes into the JSON results)."""
from __future__ import annotations

import os
import platform
import subprocess
from typing import Any

__all__ = ["cpu_info", "describe", "summary_line"]

_FLAGS_OF_INTEREST = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16",
                      "amx_tile")


def cpu_info() -> dict[str, Any]:
    """CPU model, vendor and the SIMD flags that decide BLAS kernels (Linux /proc/cpuinfo)."""
    info: dict[str, Any] = {"model": platform.processor() or platform.machine(),
                            "logical_cpus": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return info
    first = text.split("\n\n", 1)[0]
    fields = dict(line.split(":", 1) for line in first.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    info.update(model=fields.get("model name", info["model"]),
                vendor=fields.get("vendor_id"), family=fields.get("cpu family"),
                model_number=fields.get("model"),
                hypervisor="hypervisor" in flags,
                flags={f: f in flags for f in _FLAGS_OF_INTEREST})
    return info


def _blas_info(numpy: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                           "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}
    try:
        cfg = numpy.show_config(mode="dicts")
        out["numpy_build_blas"] = cfg["Build Dependencies"]["blas"]
        out["numpy_simd"] = cfg.get("SIMD Extensions")
    except Exception as e:  # show_config's layout differs across NumPy versions
        out["numpy_build_blas"] = f"unavailable: {e}"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        out["threadpools"] = "threadpoolctl not installed"
    else:
        out["threadpools"] = [{k: v for k, v in p.items() if k != "filepath"}
                              | {"library": os.path.basename(p["filepath"])}
                              for p in threadpool_info()]
    return out


def _git_commit() -> str | None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                             capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "ember"], cwd=root,
                               text=True, capture_output=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (rev + ("+dirty" if dirty else "")) or None


def describe(numpy: Any, torch: Any, ember: Any) -> dict[str, Any]:
    """Everything needed to interpret (and reproduce) a set of timings."""
    return {
        "cpu": cpu_info(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "ember": getattr(ember, "__version__", "?"),
        "ember_commit": _git_commit(),
        "blas": _blas_info(numpy),
    }


def summary_line(machine: dict[str, Any]) -> str:
    """One human line: CPU, cores, library versions and the OpenBLAS kernel in use."""
    cpu = machine["cpu"]
    cores = [p.get("architecture") for p in machine["blas"].get("threadpools", [])
             if isinstance(p, dict) and p.get("internal_api") == "openblas"]
    avx512 = cpu.get("flags", {}).get("avx512f")
    return (f"{cpu['model']} ({cpu.get('usable_cpus', cpu['logical_cpus'])} usable CPUs"
            f"{', VM' if cpu.get('hypervisor') else ''}, AVX-512: {'yes' if avx512 else 'no'}), "
            f"Python {machine['python']}, NumPy {machine['numpy']} "
            f"(OpenBLAS core: {cores[0] if cores else 'unknown'}), "
            f"PyTorch {machine['torch']} ({machine['torch_cpu_capability']}), "
            f"Ember {machine['ember']} @ {machine['ember_commit']}")
