"""Graph mode: trace eager code into one graph IR, optimize it, run it fast.

``ember.compile`` (aliases ``ember.function``, ``ember.jit``) is the entry point; the IR
(:mod:`ember.compiler.ir`), the tracer, the passes and the executor are the pieces every
graph tool shares.
"""
from ember.compiler.compiled import CompiledFunction, Explanation, compile
from ember.compiler.ir import Graph, Node, Value
from ember.compiler.tracer import GraphBreak, trace

__all__ = ["compile", "CompiledFunction", "Explanation", "Graph", "Node", "Value",
           "GraphBreak", "trace"]
