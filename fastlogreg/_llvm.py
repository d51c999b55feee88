"""An LLVM operation numba has no Python spelling for, as a numba intrinsic."""

from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def float64_from_bits(typingctx, bits):
    """Reinterpret an int64 bit pattern as a float64 (a plain bitcast, vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen
