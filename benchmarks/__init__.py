"""Side-by-side speed measurements of Ember against PyTorch (CPU), in one process.

Run everything with ``python -m benchmarks.run`` (see ``docs/benchmarks.md``);
``python -m benchmarks.profile NAME`` profiles Ember's side of one workload and
``python -m benchmarks.blas`` measures NumPy's GEMM speed per OpenBLAS core type
(see ``docs/blas.md``). Nothing here is imported by ``ember`` or by its tests' assertions:
timings are reported, never asserted.
"""
