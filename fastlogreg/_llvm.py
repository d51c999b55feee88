"""LLVM operations numba has no Python spelling for, as numba intrinsics."""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import _config


@intrinsic
def float64_from_bits(typingctx, bits):
    """Reinterpret an int64 bit pattern as a float64 (a plain bitcast, vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def bits_from_float64(typingctx, value):
    """The int64 bit pattern of a float64 (a plain bitcast, vectorisable)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def is_float32(typingctx, dtype):
    """Whether ``dtype`` (an array's .dtype) is float32, as a constant of the compiled
    code: a branch on it costs nothing, LLVM drops the branch not taken."""
    if not isinstance(dtype, types.DType):
        return None
    sig = types.boolean(dtype)
    answer = dtype.dtype == types.float32

    def codegen(context, builder, signature, args):
        return context.get_constant(types.boolean, answer)

    return sig, codegen


class _FunctionAttributes(ir.FunctionAttributes):
    """llvmlite's function attributes plus LLVM string attributes ("key"="value"),
    which llvmlite has no spelling for."""

    def __init__(self, original, strings):
        super().__init__()
        for name in original:
            set.add(self, name)
        self.alignstack = original.alignstack
        self.personality = original.personality
        self.strings = dict(getattr(original, "strings", {}), **strings)

    def __len__(self):  # llvmlite writes the attribute list only when this is non-zero
        return super().__len__() + len(self.strings)

    def _to_list(self, *args):
        return super()._to_list(*args) + [f'"{k}"="{v}"' for k, v in self.strings.items()]


@intrinsic
def prefer_512_bit_vectors(typingctx):
    """Let LLVM vectorise the calling function's loops with 512-bit vectors where the
    CPU has them (AVX-512), as it would with 256-bit ones otherwise: LLVM prefers
    256-bit vectors on Intel AVX-512 CPUs (a function attribute,
    "prefer-vector-width"="512", overrides that for the caller alone).  No effect on
    CPUs without AVX-512 or outside x86.  Results are the same bits: the vector width
    changes how many examples go per instruction, not the arithmetic of each."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        function = builder.function
        function.attributes = _FunctionAttributes(function.attributes, {"prefer-vector-width": "512"})
        return context.get_dummy_value()

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


# --- kernels for short row-major rows, in float64 vectors -----------------------------
# LLVM vectorises numba's loops along the row: for rows of a few features that leaves
# most of the work in per-row overhead (loop setup, the horizontal sum of each dot
# product, a load and store of the gradient per row).  These two kernels are written
# in vectors instead: the gradient sums stay in registers across a tile, the margins of
# as many rows as a vector has lanes are summed across lanes together.  Masked loads
# read each row's last, partial vector without touching memory past it.
#
# A vector is one register of float64: 8 lanes with AVX-512, 4 otherwise (AVX2's
# 256-bit registers, of which there are 16, not 32).  Written for 8 lanes everywhere,
# LLVM split each vector in two on AVX2: a row of 10 features took four 4-lane loads,
# conversions and multiply-adds instead of three, and margins_rows' eight rows of
# accumulators spilled out of the registers.  Measured on an AMD EPYC Zen 3 (AVX2), one
# process, 11 interleaved rounds, time with 4 lanes ÷ with 8: cost_and_gradient
# 4e6 x 10 float64 0.91, float32 0.82; 8e6 x 5 0.71 and 0.70; 2e6 x 16 0.94 and 0.83;
# 1.2e6 x 32 1.035 and 0.85; H·v 4e6 x 10 0.88 and 0.70, 8e6 x 5 0.59 and 0.54,
# 2e6 x 16 0.96 and 0.77, 1.2e6 x 32 1.01 and 0.77 (in cache, per row: float32 H·v
# 5.0 -> 2.6 ns, cost_and_gradient 9.0 -> 6.4 ns).  On AMD's AVX-512 CPUs the
# shortest rows go in 4 lanes too (see row_widths and _config).

# Accumulators per sweep of accumulate_rows (and per row of a pair).  With 4 lanes,
# 8 per sweep (32 features, 16 registers of accumulators) against 4, time ratio as
# above: 1.2e6 x 32 float64 0.94-0.95 but float32 1.13-1.19; 2e6 x 16 and 4e6 x 10
# 1.00-1.02.
_SWEEP_VECTORS = 4


def vector_lanes(context):
    """float64 lanes of a vector register on the CPU that numba compiles for: 8 with
    AVX-512, else 4 (the features numba's code generator targets, which its cache keys
    its builds by)."""
    features = getattr(context.codegen(), "_tm_features", "") or ""
    return 8 if "+avx512f" in features.split(",") else 4


def row_widths(context, element_type):
    """The code paths of the two kernels, as (lanes, first, last): rows of first ..
    last features (last None: and any longer row) go in vectors of that many float64
    lanes.  The CPU's width (vector_lanes), except that on the AVX-512 CPUs of
    _config.REGISTER_ROW_256_BIT_MAX_FEATURES, which run a 512-bit operation as two
    256-bit halves, the shortest rows go in 4 lanes: a 512-bit vector costs the time
    of two 256-bit ones there, so the lanes that a short row leaves empty are time lost
    (a row of 10 features fills 10 of 16 lanes in 8-lane vectors, 10 of 12 in 4-lane
    ones), and so are margins_rows' extra round of lane sums."""
    lanes = vector_lanes(context)
    narrow = _config.REGISTER_ROW_256_BIT_MAX_FEATURES.get(str(element_type), 0)
    if lanes == 8 and narrow > 0:
        return [(4, 1, narrow), (8, narrow + 1, None)]
    return [(lanes, 1, None)]


def _for_row_widths(context, builder, element_type, n, emit):
    """emit(vc, first, last) under `if first <= n (<= last)`, for each of row_widths,
    with vc the _VectorCode of its lanes."""
    for lanes, first, last in row_widths(context, element_type):
        vc = _VectorCode(context, builder, element_type, lanes)
        within = builder.icmp_signed(">=", n, vc.const(first))
        if last is not None:
            within = builder.and_(within, builder.icmp_signed("<=", n, vc.const(last)))
        with builder.if_then(within):
            emit(vc, first, last)


class _VectorCode:
    """The IR builder helpers the two kernels share: constants, vectors (``lanes``
    wide, see row_widths) of X's element type and of float64, masks, and the LLVM
    intrinsics they call."""

    def __init__(self, context, builder, element_type, lanes):
        self.builder = builder
        self.lanes = lanes
        self.intp = context.get_value_type(types.intp)
        self.i32 = ir.IntType(32)
        self.elem = context.get_data_type(element_type)
        self.itemsize = context.get_abi_sizeof(self.elem)
        self.double = ir.DoubleType()
        self.vx = ir.VectorType(self.elem, lanes)
        self.vd = ir.VectorType(self.double, lanes)
        self.vmask = ir.VectorType(ir.IntType(1), lanes)
        self.vindex = ir.VectorType(self.intp, lanes)
        self.zero_x = ir.Constant(self.vx, [0.0] * lanes)
        self.zero_d = ir.Constant(self.vd, [0.0] * lanes)
        self.all_lanes = ir.Constant(self.vmask, [1] * lanes)
        # Names mangled for typed pointers, like llvm.prefetch.p0i8 above: LLVM renames
        # them to its own mangling (checked with numba 0.59.1 / LLVM 14 and 0.68.1 / LLVM 22).
        x_kind = f"v{lanes}f64" if self.elem == self.double else f"v{lanes}f32"
        d_kind = f"v{lanes}f64"
        self._load_x = self._declare(f"llvm.masked.load.{x_kind}.p0{x_kind}", self.vx,
                                     [self.vx.as_pointer(), self.i32, self.vmask, self.vx])
        self._load_d = self._declare(f"llvm.masked.load.{d_kind}.p0{d_kind}", self.vd,
                                     [self.vd.as_pointer(), self.i32, self.vmask, self.vd])
        self._store_d = self._declare(f"llvm.masked.store.{d_kind}.p0{d_kind}", ir.VoidType(),
                                      [self.vd, self.vd.as_pointer(), self.i32, self.vmask])
        self._fma = self._declare(f"llvm.fma.{d_kind}", self.vd, [self.vd, self.vd, self.vd])

    def _declare(self, name, ret, arg_types):
        return cgutils.get_or_insert_function(self.builder.module, ir.FunctionType(ret, arg_types), name)

    def const(self, value):
        return ir.Constant(self.intp, value)

    def add(self, *values):
        total = values[0]
        for value in values[1:]:
            total = self.builder.add(total, value)
        return total

    def scaled(self, index, scale):
        """index * scale (an intp value times a Python int)."""
        return self.builder.mul(index, self.const(scale))

    def address(self, array_struct, row):
        """The address of row ``row`` of a 2-D array (an intp)."""
        stride = self.builder.extract_value(array_struct.strides, 0)
        return self.add(self.builder.ptrtoint(array_struct.data, self.intp), self.builder.mul(row, stride))

    def splat(self, value, vector_type):
        undef = ir.Constant(vector_type, ir.Undefined)
        one = self.builder.insert_element(undef, value, ir.Constant(self.i32, 0))
        zeros = ir.Constant(ir.VectorType(self.i32, self.lanes), [0] * self.lanes)
        return self.builder.shuffle_vector(one, undef, zeros)

    def lanes_below(self, first, limit):
        """The mask of the lanes l with first + l < limit."""
        lane_numbers = ir.Constant(self.vindex, list(range(self.lanes)))
        lanes = self.builder.add(self.splat(first, self.vindex), lane_numbers)
        return self.builder.icmp_signed("<", lanes, self.splat(limit, self.vindex))

    def load_x(self, address, mask):
        """A vector of X's elements from ``address`` (those in mask; 0 elsewhere), as
        float64."""
        pointer = self.builder.inttoptr(address, self.vx.as_pointer())
        alignment = ir.Constant(self.i32, self.itemsize)
        x = self.builder.call(self._load_x, [pointer, alignment, mask, self.zero_x])
        return x if self.elem == self.double else self.builder.fpext(x, self.vd)

    def load_d(self, address, mask):
        pointer = self.builder.inttoptr(address, self.vd.as_pointer())
        return self.builder.call(self._load_d, [pointer, ir.Constant(self.i32, 8), mask, self.zero_d])

    def store_d(self, value, address, mask):
        pointer = self.builder.inttoptr(address, self.vd.as_pointer())
        self.builder.call(self._store_d, [value, pointer, ir.Constant(self.i32, 8), mask])

    def load_scalar(self, address):
        return self.builder.load(self.builder.inttoptr(address, self.double.as_pointer()))

    def fma(self, a, b, c):
        return self.builder.call(self._fma, [a, b, c])


def _intp_args(context, builder, signature, args, positions):
    return [context.cast(builder, args[i], signature.args[i], types.intp) for i in positions]


@intrinsic
def accumulate_rows(typingctx, X, t0, count, r, r_first, out, o):
    """out[o, j] += Σ_i r[r_first + i] X[t0 + i, j] for i < count and every j (X 2-D
    C-contiguous, float32 or float64; r 1-D and out 2-D, float64, C-contiguous), the
    sums held in registers.  The features go in sweeps of _SWEEP_VECTORS vectors (32
    features in 8-lane vectors, 16 in 4-lane ones; see row_widths): each sweep runs
    down the rows, two at a time, multiplying each row's segment into float64 vector
    accumulators (two sets, one per row of a pair, so that consecutive rows do not
    wait on each other's fused multiply-add), and adds them to out once at its end,
    instead of loading and storing out once per row or two.  The last sweep uses
    masked loads and only as many accumulators as it has features; only its last
    vector is masked (those before it hold features alone)."""
    sig = types.void(X, t0, count, r, r_first, out, o)

    def codegen(context, builder, signature, args):
        x_type, _, _, r_type, _, out_type, _ = signature.args
        base = _VectorCode(context, builder, x_type.dtype, vector_lanes(context))
        xa = context.make_array(x_type)(context, builder, args[0])
        first_row, n_rows, r_first, out_row = _intp_args(context, builder, signature, args, (1, 2, 4, 6))
        n = builder.extract_value(xa.shape, 1)
        x_row_stride = builder.extract_value(xa.strides, 0)
        x_start = base.address(xa, first_row)
        r_data = builder.ptrtoint(context.make_array(r_type)(context, builder, args[3]).data, base.intp)
        r_start = base.add(r_data, base.scaled(r_first, 8))
        out_start = base.address(context.make_array(out_type)(context, builder, args[5]), out_row)

        def emit(vc, first, last):
            """The sweeps for rows of first .. last features, in vectors of vc.lanes."""
            lanes = vc.lanes
            # Accumulators live in stack slots that LLVM promotes to registers.
            slots = [[cgutils.alloca_once(builder, vc.vd) for _ in range(_SWEEP_VECTORS)] for _ in range(2)]

            def sweep(j0, n_vectors, masked):
                """Features j0 .. j0 + lanes n_vectors (those below n if masked) over all rows."""
                masks = [vc.all_lanes] * n_vectors
                if masked:
                    masks[-1] = vc.lanes_below(vc.add(j0, vc.const((n_vectors - 1) * lanes)), n)
                for row_slots in slots:
                    for v in range(n_vectors):
                        builder.store(vc.zero_d, row_slots[v])
                segment = vc.add(x_start, vc.scaled(j0, vc.itemsize))

                def add_row(i, row_slots):
                    r_i = vc.splat(vc.load_scalar(vc.add(r_start, vc.scaled(i, 8))), vc.vd)
                    row = vc.add(segment, builder.mul(i, x_row_stride))
                    for v in range(n_vectors):
                        x = vc.load_x(vc.add(row, vc.const(v * lanes * vc.itemsize)), masks[v])
                        builder.store(vc.fma(x, r_i, builder.load(row_slots[v])), row_slots[v])

                with cgutils.for_range(builder, builder.sdiv(n_rows, vc.const(2))) as pair:
                    i = vc.scaled(pair.index, 2)
                    add_row(i, slots[0])
                    add_row(vc.add(i, vc.const(1)), slots[1])
                odd = builder.icmp_signed("==", builder.srem(n_rows, vc.const(2)), vc.const(1))
                with builder.if_then(odd):
                    add_row(builder.sub(n_rows, vc.const(1)), slots[0])
                for v in range(n_vectors):
                    total = builder.fadd(builder.load(slots[0][v]), builder.load(slots[1][v]))
                    address = vc.add(out_start, vc.scaled(vc.add(j0, vc.const(v * lanes)), 8))
                    vc.store_d(builder.fadd(vc.load_d(address, masks[v]), total), address, masks[v])

            width = lanes * _SWEEP_VECTORS
            full = vc.scaled(builder.sdiv(n, vc.const(width)), width)
            with cgutils.for_range_slice(builder, vc.const(0), full, vc.const(width)) as (j0, _):
                sweep(j0, _SWEEP_VECTORS, masked=False)
            rest_vectors = builder.sdiv(vc.add(builder.sub(n, full), vc.const(lanes - 1)), vc.const(lanes))
            for n_vectors in range(1, _SWEEP_VECTORS + 1):
                with builder.if_then(builder.icmp_signed("==", rest_vectors, vc.const(n_vectors))):
                    sweep(full, n_vectors, masked=True)
        _for_row_widths(context, builder, x_type.dtype, n, emit)
        return context.get_dummy_value()

    return sig, codegen


def _lane_sum_rounds(lanes):
    """margins_rows' lane sums, round by round, as pairs of shuffles of two vectors
    (indices into a ++ b): rows in pairs, then pairs of pairs, ... (log2(lanes)
    rounds).  In the round that pairs blocks of ``step`` lanes, the first shuffle
    keeps a's even blocks and b's even blocks moved up one block, the second the odd
    ones, so that their sum holds in each block the sums of twice as many rows."""
    rounds = []
    step = 1
    while step < lanes:
        in_even_block = [(lane // step) % 2 == 0 for lane in range(lanes)]
        even = [lane if e else lanes + lane - step for lane, e in enumerate(in_even_block)]
        odd = [lane + step if e else lanes + lane for lane, e in enumerate(in_even_block)]
        rounds.append((even, odd))
        step *= 2
    return rounds


class _RowBlocks:
    """Rows of X of ``rows`` vectors of vc.lanes lanes each (every vector of a row but
    the last holds features alone), read vc.lanes rows at a time, with their dot
    products with u: the part that margins_rows and hessp_rows share."""

    def __init__(self, vc, rows, n, u_start, x_start, x_row_stride, n_rows):
        self.vc, self.rows = vc, rows
        self.x_start, self.x_row_stride, self.n_rows = x_start, x_row_stride, n_rows
        # the load masks of a row's vectors
        self.masks = [vc.all_lanes] * (rows - 1) + [vc.lanes_below(vc.const((rows - 1) * vc.lanes), n)]
        self.u_vectors = [
            vc.load_d(vc.add(u_start, vc.const(v * vc.lanes * 8)), self.masks[v]) for v in range(rows)
        ]

    def load(self, i0, partial):
        """(vectors, sums) of rows i0 .. i0 + lanes (those below n_rows alone, and no
        memory past them, if partial): each row's vectors, as float64, and its products
        with u summed along the row (one vector per row; 0 for a row past n_rows)."""
        vc, builder = self.vc, self.vc.builder
        vectors, sums = [], []
        for row in range(vc.lanes):
            i = vc.add(i0, vc.const(row))
            start = vc.add(self.x_start, builder.mul(i, self.x_row_stride))
            in_tile = vc.splat(builder.icmp_signed("<", i, self.n_rows), vc.vmask) if partial else None
            xs, acc = [], vc.zero_d
            for v in range(self.rows):
                mask = builder.and_(self.masks[v], in_tile) if partial else self.masks[v]
                x = vc.load_x(vc.add(start, vc.const(v * vc.lanes * vc.itemsize)), mask)
                xs.append(x)
                acc = vc.fma(x, self.u_vectors[v], acc)
            vectors.append(xs)
            sums.append(acc)
        return vectors, sums

    def for_blocks(self, block):
        """block(i0, partial) for the rows in blocks of vc.lanes rows, the last one
        partial if n_rows is not a multiple."""
        vc, builder = self.vc, self.vc.builder
        full_blocks = builder.sdiv(self.n_rows, vc.const(vc.lanes))
        with cgutils.for_range(builder, full_blocks) as loop:
            block(vc.scaled(loop.index, vc.lanes), partial=False)
        rest = vc.scaled(full_blocks, vc.lanes)
        with builder.if_then(builder.icmp_signed("<", rest, self.n_rows)):
            block(rest, partial=True)


def _lane_sums(vc, sums):
    """One vector whose lane r holds the sum of the lanes of sums[r] (vc.lanes vectors):
    the rows' vectors summed across lanes together (for eight rows, three rounds of
    two shuffles and an add, instead of a horizontal sum per row)."""
    index_type = ir.VectorType(vc.i32, vc.lanes)
    for picks in _lane_sum_rounds(vc.lanes):
        sums = [
            vc.builder.fadd(
                vc.builder.shuffle_vector(sums[k], sums[k + 1], ir.Constant(index_type, picks[0])),
                vc.builder.shuffle_vector(sums[k], sums[k + 1], ir.Constant(index_type, picks[1])),
            )
            for k in range(0, len(sums), 2)
        ]
    return sums[0]


def _for_vectors_per_row(context, builder, element_type, n, emit_rows):
    """emit_rows(vc, rows) under `if a row of n features takes `rows` vectors of
    vc.lanes`, for each of row_widths and each vector count of its rows (up to
    _config.REGISTER_ROW_MAX_FEATURES features; a longer row finds no code path)."""

    def emit(vc, first, last):
        lanes = vc.lanes
        last = _config.REGISTER_ROW_MAX_FEATURES if last is None else last
        n_vectors = builder.sdiv(vc.add(n, vc.const(lanes - 1)), vc.const(lanes))
        for rows in range(-(-first // lanes), -(-last // lanes) + 1):
            with builder.if_then(builder.icmp_signed("==", n_vectors, vc.const(rows))):
                emit_rows(vc, rows)

    _for_row_widths(context, builder, element_type, n, emit)


class _RowKernelArgs:
    """The arguments margins_rows and hessp_rows share, (X, t0, count, u, u0, ...),
    unpacked into IR values: ``base`` (the _VectorCode of the CPU's width), ``n`` (X's
    features), ``first_row`` and ``n_rows`` (t0 and count), the address ``x_start`` of
    row t0 and ``x_row_stride``, the address ``u_start`` of u and the float64
    ``intercept`` u0."""

    def __init__(self, context, builder, signature, args):
        x_type, _, _, u_type, _ = signature.args[:5]
        self.base = _VectorCode(context, builder, x_type.dtype, vector_lanes(context))
        xa = context.make_array(x_type)(context, builder, args[0])
        self.first_row, self.n_rows = _intp_args(context, builder, signature, args, (1, 2))
        self.intercept = context.cast(builder, args[4], signature.args[4], types.float64)
        self.n = builder.extract_value(xa.shape, 1)
        self.x_row_stride = builder.extract_value(xa.strides, 0)
        self.x_start = self.base.address(xa, self.first_row)
        self.u_start = builder.ptrtoint(
            context.make_array(u_type)(context, builder, args[3]).data, self.base.intp
        )

    def row_blocks(self, vc, rows):
        """The _RowBlocks of these rows, in vectors of vc."""
        return _RowBlocks(vc, rows, self.n, self.u_start, self.x_start, self.x_row_stride, self.n_rows)


@intrinsic
def margins_rows(typingctx, X, t0, count, u, u0, out, out_start):
    """out[out_start + i] = X[t0 + i, :] · u + u0 for i < count (X 2-D C-contiguous,
    float32 or float64, at most _config.REGISTER_ROW_MAX_FEATURES features; u and out
    1-D float64), as many rows at a time as a vector has lanes (see row_widths): each
    row's products go in float64 vectors, then the rows' vectors are summed across
    lanes together (_lane_sums) and stored as one vector."""
    sig = types.void(X, t0, count, u, u0, out, out_start)

    def codegen(context, builder, signature, args):
        x_type, out_type = signature.args[0], signature.args[5]
        a = _RowKernelArgs(context, builder, signature, args)
        base, n, n_rows = a.base, a.n, a.n_rows
        (first_out,) = _intp_args(context, builder, signature, args, (6,))
        out_data = builder.ptrtoint(context.make_array(out_type)(context, builder, args[5]).data, base.intp)
        out_at = base.add(out_data, base.scaled(first_out, 8))

        def rows_of(vc, rows):
            """The pass for rows of `rows` vectors of vc.lanes lanes."""
            row_blocks = a.row_blocks(vc, rows)
            intercepts = vc.splat(a.intercept, vc.vd)

            def block(i0, partial):
                _, sums = row_blocks.load(i0, partial)
                store_mask = vc.lanes_below(i0, n_rows) if partial else vc.all_lanes
                margins = builder.fadd(_lane_sums(vc, sums), intercepts)
                vc.store_d(margins, vc.add(out_at, vc.scaled(i0, 8)), store_mask)

            row_blocks.for_blocks(block)

        _for_vectors_per_row(context, builder, x_type.dtype, n, rows_of)
        return context.get_dummy_value()

    return sig, codegen


# Accumulator sets of hessp_rows: its rows' updates go round-robin into this many sets
# of the gradient's vectors, so that consecutive rows' fused multiply-adds do not
# wait on each other (see _config.HESSP_PREFETCH_MAX_ROW_BYTES for the measurements).
_HESSP_ACCUMULATOR_SETS = 2


@intrinsic
def hessp_rows(typingctx, X, t0, count, u, u0, d, out, o):
    """The Hessian-vector product's whole work on short rows in one sweep:
    t_i = (X[t0 + i, :] · u + u0) d[t0 + i], out[o, j] += Σ_i t_i X[t0 + i, j] for
    i < count and every j; returns Σ_i t_i.  X as in margins_rows; u and d 1-D
    float64, out 2-D float64, C-contiguous.  As many rows at a time as a vector has
    lanes: their margins summed across lanes together as in margins_rows and
    multiplied by their d in one vector, then each row's t broadcast across a vector
    and multiplied into the sums from the row's vectors, still in registers
    (margins_rows then accumulate_rows read each row twice, and store and reload its
    margin in between)."""
    sig = types.float64(X, t0, count, u, u0, d, out, o)

    def codegen(context, builder, signature, args):
        x_type, d_type, out_type = signature.args[0], signature.args[5], signature.args[6]
        a = _RowKernelArgs(context, builder, signature, args)
        base, n, n_rows = a.base, a.n, a.n_rows
        (out_row,) = _intp_args(context, builder, signature, args, (7,))
        d_data = builder.ptrtoint(context.make_array(d_type)(context, builder, args[5]).data, base.intp)
        d_at = base.add(d_data, base.scaled(a.first_row, 8))
        out_start = base.address(context.make_array(out_type)(context, builder, args[6]), out_row)
        t_total = cgutils.alloca_once_value(builder, base.zero_d)  # Σ t, in the widest vector

        def rows_of(vc, rows):
            """The sweep for rows of `rows` vectors of vc.lanes lanes."""
            lanes = vc.lanes
            index_type = ir.VectorType(vc.i32, lanes)
            row_blocks = a.row_blocks(vc, rows)
            masks = row_blocks.masks
            intercepts = vc.splat(a.intercept, vc.vd)
            # accumulators in stack slots that LLVM promotes to registers
            slots = [[cgutils.alloca_once_value(builder, vc.zero_d) for _ in range(rows)]
                     for _ in range(_HESSP_ACCUMULATOR_SETS)]
            t_slot = cgutils.alloca_once_value(builder, vc.zero_d)

            def block(i0, partial):
                vectors, sums = row_blocks.load(i0, partial)
                margins = builder.fadd(_lane_sums(vc, sums), intercepts)
                in_block = vc.lanes_below(i0, n_rows) if partial else vc.all_lanes
                weights = vc.load_d(vc.add(d_at, vc.scaled(i0, 8)), in_block)  # 0 past the rows
                t = builder.fmul(margins, weights)
                builder.store(builder.fadd(builder.load(t_slot), t), t_slot)
                for row in range(lanes):
                    t_row = builder.shuffle_vector(t, t, ir.Constant(index_type, [row] * lanes))
                    row_slots = slots[row % _HESSP_ACCUMULATOR_SETS]
                    for v, slot in enumerate(row_slots):
                        builder.store(vc.fma(vectors[row][v], t_row, builder.load(slot)), slot)

            row_blocks.for_blocks(block)
            for v in range(rows):
                total = builder.load(slots[0][v])
                for row_slots in slots[1:]:
                    total = builder.fadd(total, builder.load(row_slots[v]))
                address = vc.add(out_start, vc.scaled(vc.const(v * lanes), 8))
                vc.store_d(builder.fadd(vc.load_d(address, masks[v]), total), address, masks[v])
            t_sum = builder.load(t_slot)
            if lanes < base.lanes:  # into the first lanes of the widest vector, zeros after
                widen = ir.Constant(ir.VectorType(vc.i32, base.lanes),
                                    list(range(lanes)) + [lanes] * (base.lanes - lanes))
                t_sum = builder.shuffle_vector(t_sum, vc.zero_d, widen)
            builder.store(t_sum, t_total)

        _for_vectors_per_row(context, builder, x_type.dtype, n, rows_of)
        t_sum = builder.load(t_total)
        total = builder.extract_element(t_sum, ir.Constant(base.i32, 0))
        for lane in range(1, base.lanes):
            total = builder.fadd(total, builder.extract_element(t_sum, ir.Constant(base.i32, lane)))
        return total

    return sig, codegen



def _gram_accumulators(n, lanes):
    """gram_rows' vector accumulators for n features: one per feature j for the lanes
    of its own block of features (row j of G there), one per feature and earlier
    block (column j of G for that block's rows: G's upper triangle), and one per
    block for the intercept's column."""
    return n + sum(j // lanes for j in range(n)) + -(-n // lanes)


def gram_rows_features(lanes):
    """The feature counts n for which gram_rows keeps a tile's XᵀDX in registers, on a
    CPU with float64 vectors of ``lanes`` lanes: its accumulators (_gram_accumulators)
    and the row being added must fit the vector registers (32 with AVX-512, 16
    without)."""
    registers = 32 if lanes == 8 else 16
    spare = 8  # the row's vectors, the same times d, a broadcast feature
    return [n for n in range(1, 4 * lanes) if _gram_accumulators(n, lanes) <= registers - spare]


@intrinsic
def gram_rows_handles(typingctx, n):
    """True if gram_rows handles rows of n features on the CPU numba compiles for (n
    among gram_rows_features), as a constant test compiled into the caller."""
    sig = types.boolean(n)

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.intp)
        handled = cgutils.false_bit
        for features in gram_rows_features(vector_lanes(context)):
            equal = builder.icmp_signed("==", value, ir.Constant(value.type, features))
            handled = builder.or_(handled, equal)
        return handled

    return sig, codegen


@intrinsic
def gram_rows(typingctx, X, t0, count, d, G):
    """G[j, k] += Σ_i d_i x_ij x_ik for j <= k < n (the upper triangle; some entries
    below it too) and G[j, n] += Σ_i d_i x_ij, over rows t0 .. t0+count of X (2-D
    C-contiguous, float32 or float64; d_i = d[t0 + i]; d 1-D and G (n + 1, n + 1),
    float64, C-contiguous), if X's n features are among gram_rows_features: then
    returns True, else False and leaves G as it is.

    Each row is read once, in blocks of ``lanes`` features, and each block multiplied
    by d_i.  Each feature j, broadcast across a vector, is multiplied with its own
    block (row j of G there) and with each earlier block (column j of G for that
    block's rows), so that no vector of sums covers the empty lanes of a short last
    block (10 features in 8 lanes: 14 multiply-adds per row, not 22).  The sums stay
    in registers across the tile and are added to G at its end.  The Gram update of
    numba's loops transposes the tile first, then sums one row of G at a time from the
    transposed tile, loading and storing the sums once per pass."""
    sig = types.boolean(X, t0, count, d, G)

    def codegen(context, builder, signature, args):
        x_type, _, _, d_type, g_type = signature.args
        lanes = vector_lanes(context)
        vc = _VectorCode(context, builder, x_type.dtype, lanes)
        xa = context.make_array(x_type)(context, builder, args[0])
        first_row, n_rows = _intp_args(context, builder, signature, args, (1, 2))
        n = builder.extract_value(xa.shape, 1)
        x_row_stride = builder.extract_value(xa.strides, 0)
        x_start = vc.address(xa, first_row)
        d_data = builder.ptrtoint(context.make_array(d_type)(context, builder, args[3]).data, vc.intp)
        d_at = vc.add(d_data, vc.scaled(first_row, 8))
        ga = context.make_array(g_type)(context, builder, args[4])
        index_type = ir.VectorType(vc.i32, lanes)
        handled = cgutils.alloca_once_value(builder, cgutils.false_bit)

        def slot():  # a stack slot that LLVM promotes to a register
            return cgutils.alloca_once_value(builder, vc.zero_d)

        def add_lanes(vector, first_row_of_g, column, valid):
            """G[first_row_of_g + l, column] += lane l of vector, for l < valid."""
            for lane in range(valid):
                address = vc.add(vc.address(ga, vc.const(first_row_of_g + lane)), vc.const(column * 8))
                pointer = builder.inttoptr(address, vc.double.as_pointer())
                value = builder.extract_element(vector, ir.Constant(vc.i32, lane))
                builder.store(builder.fadd(builder.load(pointer), value), pointer)

        for features in gram_rows_features(lanes):
            with builder.if_then(builder.icmp_signed("==", n, vc.const(features))):
                builder.store(cgutils.true_bit, handled)
                blocks = -(-features // lanes)
                valid = [min(lanes, features - b * lanes) for b in range(blocks)]
                masks = [vc.all_lanes if v == lanes else vc.lanes_below(vc.const(0), vc.const(v))
                         for v in valid]
                own = [slot() for _ in range(features)]  # row j of G, in j's block
                earlier = [[slot() for _ in range(j // lanes)] for j in range(features)]  # column j
                intercept = [slot() for _ in range(blocks)]
                with cgutils.for_range(builder, n_rows) as loop:
                    i = loop.index
                    row = vc.add(x_start, builder.mul(i, x_row_stride))
                    xs = [vc.load_x(vc.add(row, vc.const(b * lanes * vc.itemsize)), masks[b])
                          for b in range(blocks)]
                    weight = vc.splat(vc.load_scalar(vc.add(d_at, vc.scaled(i, 8))), vc.vd)
                    weighted = [builder.fmul(x, weight) for x in xs]
                    for b in range(blocks):
                        builder.store(builder.fadd(builder.load(intercept[b]), weighted[b]), intercept[b])
                    for j in range(features):
                        source = xs[j // lanes]
                        lane_j = ir.Constant(index_type, [j % lanes] * lanes)
                        x_j = builder.shuffle_vector(source, source, lane_j)
                        targets = [(own[j], weighted[j // lanes])]
                        targets += [(earlier[j][b], weighted[b]) for b in range(j // lanes)]
                        for accumulator, block in targets:
                            builder.store(vc.fma(x_j, block, builder.load(accumulator)), accumulator)
                for j in range(features):
                    b = j // lanes
                    address = vc.add(vc.address(ga, vc.const(j)), vc.const(b * lanes * 8))
                    total = builder.fadd(vc.load_d(address, masks[b]), builder.load(own[j]))
                    vc.store_d(total, address, masks[b])
                    for earlier_block, accumulator in enumerate(earlier[j]):
                        add_lanes(builder.load(accumulator), earlier_block * lanes, j, lanes)
                for b in range(blocks):
                    add_lanes(builder.load(intercept[b]), b * lanes, features, valid[b])
        return builder.load(handled)

    return sig, codegen
