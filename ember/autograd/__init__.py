"""Autograd: the backward engine, grad modes, anomaly detection, custom functions, the
GradientTape and the public helpers."""
from ember.autograd.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from ember.autograd.function import Function, FunctionCtx, once_differentiable
from ember.autograd.functional import backward, grad
from ember.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from ember.autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                                      is_inference_mode_enabled, no_grad, set_grad_enabled)
from ember.autograd.tape import GradientTape, UnconnectedGradients

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode",
           "is_grad_enabled", "is_inference_mode_enabled", "set_detect_anomaly",
           "detect_anomaly", "is_anomaly_enabled", "gradcheck", "gradgradcheck",
           "GradcheckError", "Function", "FunctionCtx", "once_differentiable",
           "GradientTape", "UnconnectedGradients"]
