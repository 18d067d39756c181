"""Elementwise arithmetic and comparison ops, and the Python operators on tensors.

Binary ops promote their inputs the PyTorch way (see ``ember.backend.dtypes``) and
broadcast; the engine sums gradients back to each input's shape, so a backward here
returns gradients of the broadcast shape.
"""
from __future__ import annotations

from typing import Any

from ember.backend.dtypes import to_dtype
from ember.ops.inplace import inplace_method
from ember.ops.registry import Op, apply, operator_method, register, tensor_method
from ember.tensor import Tensor, _read

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
           "floor_divide", "remainder", "fmod", "neg", "negative", "pow", "float_power",
           "eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal",
           "less_equal", "not_equal", "equal", "bitwise_and", "bitwise_or", "bitwise_xor",
           "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "logical_and", "logical_or", "logical_xor", "logical_not",
           "where", "cast", "rsub", "positive"]


class Cast(Op):
    """Change dtype; the gradient is cast back to the input's dtype by the engine."""

    name = "cast"
    saves = ()

    def forward(self, xp: Any, x: Any, *, dtype: Any) -> Any:
        return x.astype(dtype.np)

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return g


_cast = register(Cast())


def cast(x: Tensor, dtype: Any) -> Tensor:
    """``x`` converted to ``dtype`` (differentiable between floating dtypes)."""
    return _cast(x, dtype=to_dtype(dtype))


class Add(Op):
    promote = "same"
    saves = ()

    def forward(self, xp: Any, x: Any, y: Any, *, alpha: Any = 1) -> Any:
        return x + y if alpha == 1 else x + alpha * y

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        a = ctx.attrs.get("alpha", 1)
        return g, (g if a == 1 else g * a)


class Sub(Op):
    promote = "same"
    saves = ()

    def check(self, x: Any, y: Any, *, alpha: Any = 1) -> None:
        if isinstance(x, Tensor) and isinstance(y, Tensor) and \
                x._data.dtype.kind != "b" != y._data.dtype.kind:
            return                  # the common case, without the calls below
        bx, by = _is_bool(x), _is_bool(y)
        if not (bx or by):
            return
        if bx and by:
            raise RuntimeError("sub: Subtraction, the `-` operator, with two bool tensors is "
                               "not supported. Use the `^` or `logical_xor()` operator "
                               "instead.")
        raise RuntimeError("sub: Subtraction, the `-` operator, with a bool tensor is not "
                           "supported. If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")

    def forward(self, xp: Any, x: Any, y: Any, *, alpha: Any = 1) -> Any:
        return x - y if alpha == 1 else x - alpha * y

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        a = ctx.attrs.get("alpha", 1)
        return g, (-g if a == 1 else g * (-a))


class Mul(Op):
    promote = "same"

    def forward(self, xp: Any, x: Any, y: Any) -> Any:
        return x * y

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, y = ctx.inputs
        return (g * y if ctx.edges[0] else None), (g * x if ctx.edges[1] else None)


class Div(Op):
    """True division; integer inputs give the default float dtype."""

    promote = "float"

    def forward(self, xp: Any, x: Any, y: Any) -> Any:
        return x / y

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, y = ctx.inputs
        gx = g / y
        return (gx if ctx.edges[0] else None), (-gx * x / y if ctx.edges[1] else None)


class DivRounded(Op):
    """Division rounded toward zero (``trunc``) or down (``floor``); zero gradient."""

    name = "div_rounded"
    promote = "same"
    saves = ()

    def check(self, x: Any, y: Any, *, rounding_mode: str) -> None:
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or "
                             f"'floor' but found '{rounding_mode}'")

    def forward(self, xp: Any, x: Any, y: Any, *, rounding_mode: str) -> Any:
        if x.dtype.kind in "iu":
            if (y == 0).any():
                raise RuntimeError("div: ZeroDivisionError: integer division by zero")
            if rounding_mode == "floor":
                return x // y
            q = xp.abs(x) // xp.abs(y)
            return (q * (xp.sign(x) * xp.sign(y))).astype(x.dtype)
        q = x / y
        return xp.floor(q) if rounding_mode == "floor" else xp.trunc(q)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        return g * 0, g * 0


class Remainder(Op):
    """Python-style modulus (result has the divisor's sign)."""

    promote = "same"

    def forward(self, xp: Any, x: Any, y: Any) -> Any:
        if x.dtype.kind in "iu" and (y == 0).any():
            raise RuntimeError("remainder: ZeroDivisionError: integer division by zero")
        return xp.remainder(x, y)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, y = ctx.inputs
        gy = -g * div(x, y, rounding_mode="floor") if ctx.edges[1] else None
        return g, gy


class Fmod(Op):
    """C-style modulus (result has the dividend's sign)."""

    promote = "same"

    def forward(self, xp: Any, x: Any, y: Any) -> Any:
        if x.dtype.kind in "iu" and (y == 0).any():
            raise RuntimeError("fmod: ZeroDivisionError: integer division by zero")
        return xp.fmod(x, y)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, y = ctx.inputs
        gy = -g * div(x, y, rounding_mode="trunc") if ctx.edges[1] else None
        return g, gy


class Neg(Op):
    saves = ()

    def check(self, x: Tensor) -> None:
        if _is_bool(x):
            raise RuntimeError("neg: Negation, the `-` operator, on a bool tensor is not "
                               "supported. If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")

    def forward(self, xp: Any, x: Any) -> Any:
        return -x

    def backward(self, ctx: Any, g: Tensor) -> Tensor:
        return -g


class Pow(Op):
    promote = "same"
    saves_output = True

    def forward(self, xp: Any, x: Any, y: Any) -> Any:
        if x.dtype.kind in "iu" and (y < 0).any():
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return x ** y

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        x, y = ctx.inputs
        gx = gy = None
        if ctx.edges[0]:
            gx = where(y == 0, 0.0, g * y * x ** (y - 1))
        if ctx.edges[1]:
            gy = where((x == 0) & (y >= 0), 0.0, g * ctx.out * _log(x))
        return gx, gy


class _Compare(Op):
    promote = "same"
    differentiable = False
    fn = ""

    def forward(self, xp: Any, x: Any, y: Any) -> Any:
        return getattr(xp, self.fn)(x, y)


def _compare(name: str, fn: str) -> Op:
    cls = type(name.capitalize(), (_Compare,), {"name": name, "fn": fn})
    return register(cls())


class _Bitwise(Op):
    promote = "same"
    differentiable = False
    fn = ""

    def check(self, *args: Any) -> None:
        for a in args:
            if isinstance(a, Tensor) and a._data.dtype.kind not in "iub" or \
                    isinstance(a, float):
                raise TypeError(f"{self.name}: only integer and bool tensors are supported, "
                                f"got {a.dtype if isinstance(a, Tensor) else type(a).__name__}")

    def forward(self, xp: Any, *args: Any) -> Any:
        return getattr(xp, self.fn)(*args)


def _bitwise(name: str, fn: str) -> Op:
    return register(type(name.title().replace("_", ""), (_Bitwise,), {"name": name, "fn": fn})())


class _Logical(Op):
    differentiable = False
    fn = ""

    def forward(self, xp: Any, *args: Any) -> Any:
        return getattr(xp, self.fn)(*(a.astype(bool) if hasattr(a, "astype") else bool(a)
                                      for a in args))


def _logical(name: str) -> Op:
    return register(type(name.title().replace("_", ""), (_Logical,), {"name": name,
                                                                      "fn": name})())


class Where(Op):
    """``where(condition, x, y)``: x where condition holds, else y."""

    promote = "same"
    promote_from = 1
    saves = (0,)

    def check(self, cond: Any, x: Any, y: Any) -> None:
        if not isinstance(cond, Tensor) or cond._data.dtype.kind != "b":
            raise RuntimeError(f"where: expected condition to be a bool tensor, got "
                            f"{cond.dtype if isinstance(cond, Tensor) else type(cond).__name__}")

    def forward(self, xp: Any, cond: Any, x: Any, y: Any) -> Any:
        return xp.where(cond, x, y)

    def backward(self, ctx: Any, g: Tensor) -> tuple:
        cond = ctx.inputs[0]
        zero = 0.0
        return (None, where(cond, g, zero) if ctx.edges[1] else None,
                where(cond, zero, g) if ctx.edges[2] else None)


def _is_bool(x: Any) -> bool:
    return (isinstance(x, Tensor) and x._data.dtype.kind == "b") or isinstance(x, bool)


add = register(Add())
sub = register(Sub())
mul = register(Mul())
_div = register(Div())
_div_rounded = register(DivRounded())
remainder = register(Remainder())
fmod = register(Fmod())
neg = register(Neg())
_pow = register(Pow())
_where = register(Where())

eq = _compare("eq", "equal")
ne = _compare("ne", "not_equal")
lt = _compare("lt", "less")
le = _compare("le", "less_equal")
gt = _compare("gt", "greater")
ge = _compare("ge", "greater_equal")
greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne
bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")
bitwise_not = _bitwise("bitwise_not", "invert")
bitwise_left_shift = _bitwise("bitwise_left_shift", "left_shift")
bitwise_right_shift = _bitwise("bitwise_right_shift", "right_shift")
logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")
logical_not = _logical("logical_not")
subtract, multiply, negative = sub, mul, neg


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """``input / other``; ``rounding_mode`` ``'trunc'`` or ``'floor'`` rounds the quotient."""
    if rounding_mode is None:
        return _div(input, other)
    return _div_rounded(input, other, rounding_mode=rounding_mode)


divide = true_divide = div


def floor_divide(input: Any, other: Any) -> Tensor:
    return _div_rounded(input, other, rounding_mode="floor")


def pow(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` (either may be a Python number)."""
    return _pow(input, exponent)


def float_power(input: Any, exponent: Any) -> Tensor:
    """``pow`` computed in float64."""
    to64 = [cast(v, "float64") if isinstance(v, Tensor) else float(v) for v in (input, exponent)]
    return _pow(*to64)


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """Elements of ``input`` where ``condition`` holds, else of ``other``; with only a
    condition, the indices of its nonzero elements (like ``nonzero(as_tuple=True)``)."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    return _where(condition, input, other)


def rsub(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    return sub(other, input, alpha=alpha)


def positive(input: Tensor) -> Tensor:
    return input


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements (a Python bool: a graph
    being traced stops here, as at any read of values into Python)."""
    if tuple(input.shape) != tuple(other.shape):
        return False
    _read(input, "equal()")
    _read(other, "equal()")
    return bool((input._data == other._data).all())


def _log(x: Tensor) -> Tensor:
    from ember.ops.math import log
    return log(x)


# -- tensor methods and Python operators ---------------------------------------------------
for _name in ("add", "sub", "mul", "div", "remainder", "fmod", "neg", "pow", "eq", "ne", "lt",
              "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal", "not_equal",
              "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
              "bitwise_right_shift", "logical_and",
              "logical_or", "logical_xor", "logical_not", "floor_divide", "subtract",
              "multiply", "divide", "true_divide", "negative", "float_power", "equal",
              "positive", "where"):
    tensor_method(_name)(globals()[_name])


def _rev(fn: Any) -> Any:
    return lambda self, other: fn(other, self)


def _cmp(fn: Any) -> Any:
    def method(self: Tensor, other: Any) -> Any:
        if other is None:
            return fn is ne
        return apply(fn, (self, other), {})
    return method


Tensor.__add__ = operator_method(add)
Tensor.__radd__ = operator_method(add, reflected=True)
Tensor.__sub__ = operator_method(sub)
Tensor.__rsub__ = operator_method(sub, reflected=True)
Tensor.__mul__ = operator_method(mul)
Tensor.__rmul__ = operator_method(mul, reflected=True)
Tensor.__truediv__ = operator_method(_div)
Tensor.__rtruediv__ = operator_method(_div, reflected=True)
Tensor.__floordiv__ = floor_divide
Tensor.__rfloordiv__ = _rev(floor_divide)
Tensor.__mod__ = operator_method(remainder)
Tensor.__rmod__ = operator_method(remainder, reflected=True)
Tensor.__pow__ = operator_method(_pow)
Tensor.__rpow__ = operator_method(_pow, reflected=True)
Tensor.__neg__ = lambda self: apply(neg, (self,), {})
Tensor.__pos__ = positive
Tensor.__eq__ = _cmp(eq)
Tensor.__ne__ = _cmp(ne)
Tensor.__lt__ = operator_method(lt)
Tensor.__le__ = operator_method(le)
Tensor.__gt__ = operator_method(gt)
Tensor.__ge__ = operator_method(ge)
Tensor.__and__ = operator_method(bitwise_and)
Tensor.__rand__ = operator_method(bitwise_and, reflected=True)
Tensor.__or__ = operator_method(bitwise_or)
Tensor.__ror__ = operator_method(bitwise_or, reflected=True)
Tensor.__xor__ = operator_method(bitwise_xor)
Tensor.__rxor__ = operator_method(bitwise_xor, reflected=True)
Tensor.__invert__ = lambda self: apply(bitwise_not, (self,), {})
Tensor.__lshift__ = operator_method(bitwise_left_shift)
Tensor.__rlshift__ = operator_method(bitwise_left_shift, reflected=True)
Tensor.__rshift__ = operator_method(bitwise_right_shift)
Tensor.__rrshift__ = operator_method(bitwise_right_shift, reflected=True)


# -- in-place variants ----------------------------------------------------------------------
for _fn, _name in ((add, "add_"), (sub, "sub_"), (mul, "mul_"), (div, "div_"),
                   (pow, "pow_"), (neg, "neg_"), (remainder, "remainder_"),
                   (floor_divide, "floor_divide_"), (fmod, "fmod_"), (sub, "subtract_"),
                   (mul, "multiply_"), (div, "divide_"), (div, "true_divide_"),
                   (bitwise_and, "bitwise_and_"), (bitwise_or, "bitwise_or_"),
                   (bitwise_xor, "bitwise_xor_"), (bitwise_not, "bitwise_not_"),
                   (logical_not, "logical_not_"), (eq, "eq_"), (ne, "ne_"), (lt, "lt_"),
                   (le, "le_"), (gt, "gt_"), (ge, "ge_")):
    inplace_method(_fn, _name)

Tensor.__iadd__ = Tensor.add_
Tensor.__isub__ = Tensor.sub_
Tensor.__imul__ = Tensor.mul_
Tensor.__itruediv__ = Tensor.div_
Tensor.__ifloordiv__ = Tensor.floor_divide_
Tensor.__imod__ = Tensor.remainder_
Tensor.__ipow__ = Tensor.pow_
Tensor.__iand__ = Tensor.bitwise_and_
Tensor.__ior__ = Tensor.bitwise_or_
Tensor.__ixor__ = Tensor.bitwise_xor_


def _filled_like(input: Tensor, value: Any) -> Tensor:
    """A tensor shaped like ``input`` holding ``value`` (a number or 0-d tensor), which
    receives the gradient."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        return cast(value, input.dtype).expand(tuple(input.shape))
    from ember.ops.creation import full
    return full(tuple(input.shape), value, dtype=input.dtype)


def _copied(input: Tensor, src: Any) -> Tensor:
    """``src`` broadcast to ``input``'s shape and cast to its dtype."""
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_: src must be a Tensor, got {type(src).__name__}")
    return cast(src, input.dtype).expand(tuple(input.shape)) if src.dtype != input.dtype \
        else src.expand(tuple(input.shape))


inplace_method(_filled_like, "fill_")
inplace_method(_copied, "copy_")
Tensor.zero_ = lambda self: self.fill_(0)
