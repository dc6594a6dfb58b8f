"""How PyTorch computes fp32 convolutions and matrix products on NVIDIA GPUs.

repro computes in full fp32. PyTorch, by default, lets cuDNN run fp32 convolutions on TF32
tensor cores (inputs rounded to a 10-bit mantissa), since 1.7 through
`torch.backends.cudnn.allow_tf32 = True` and since 2.9 through
`torch.backends.cudnn.conv.fp32_precision = "tf32"`; its matrix products have been full fp32
by default since 1.12. A comparison with repro, of speed or of numbers, therefore sets both to
full fp32 unless it asks for PyTorch's default. (On the CPU these flags change nothing.)

PyTorch 2.9 and later refuse a mix of the legacy flags and the new `fp32_precision` settings,
so only one of the two APIs is touched, the new one where it exists.
"""
import torch


def set_fp32_math(strict=True):
    """Full fp32 (IEEE) convolutions and matrix products when `strict`, else PyTorch's default
    left as it is. Returns what is then in force, for the results: {"conv": "ieee" | "tf32",
    "matmul": ...}, each as PyTorch names it."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    matmul = torch.backends.cuda.matmul
    if conv is not None and hasattr(conv, "fp32_precision"):  # PyTorch 2.9 and later
        if strict:
            conv.fp32_precision = "ieee"
            matmul.fp32_precision = "ieee"
        return {"conv": conv.fp32_precision, "matmul": matmul.fp32_precision}
    if strict:
        torch.backends.cudnn.allow_tf32 = False
        matmul.allow_tf32 = False
    return {"conv": "tf32" if torch.backends.cudnn.allow_tf32 else "ieee",
            "matmul": "tf32" if matmul.allow_tf32 else "ieee"}
