"""LLVM operations numba has no Python spelling for, as numba intrinsics."""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def float64_from_bits(typingctx, bits):
    """Reinterpret an int64 bit pattern as a float64 (a plain bitcast, vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def prefetch_to_l2(typingctx, A, row, col, count):
    """Ask the CPU to start loading A[row, col:col+count] (A 2-D, C-contiguous) into the
    L2 cache: one prefetch instruction per 64-byte line, no wait and no fault.  A hint
    for memory the code reads soon, where the hardware prefetcher does not see it
    coming (see _kernels: column-major tiles)."""
    sig = types.void(A, row, col, count)

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        intp = context.get_value_type(types.intp)

        def as_intp(value, value_type):
            return context.cast(builder, value, value_type, types.intp)

        itemsize = ir.Constant(intp, context.get_abi_sizeof(context.get_data_type(array_type.dtype)))
        row_index, col_index, n_items = (
            as_intp(args[i], signature.args[i]) for i in (1, 2, 3)
        )
        row_stride = builder.extract_value(array.strides, 0)
        start = builder.add(
            builder.ptrtoint(array.data, intp),
            builder.add(builder.mul(row_index, row_stride), builder.mul(col_index, itemsize)),
        )
        byte_ptr = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        prefetch = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32]),
            "llvm.prefetch.p0i8",
        )
        # llvm.prefetch(address, 0 = read, 2 = locality: keep in L2 (prefetcht1), 1 = data)
        flags = [ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)]
        stop = builder.add(start, builder.mul(n_items, itemsize))
        # from the line that holds A[row, col]; no line at all for count <= 0
        first_line = builder.select(
            builder.icmp_signed(">", n_items, ir.Constant(intp, 0)),
            builder.and_(start, ir.Constant(intp, -64)),
            stop,
        )
        with cgutils.for_range_slice(builder, first_line, stop, ir.Constant(intp, 64)) as (line, _):
            builder.call(prefetch, [builder.inttoptr(line, byte_ptr)] + flags)
        return context.get_dummy_value()

    return sig, codegen
