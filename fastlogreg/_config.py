"""Every numba option fastlogreg uses, in one place.

Read once from the environment at import; nothing here touches numba's global
configuration.

Environment variables
---------------------
FASTLOGREG_CACHE
    ``0`` disables numba's on-disk cache of compiled kernels (default ``1``).
FASTLOGREG_FASTMATH
    ``0`` compiles the kernels without any fast-math flag (slower, for checking
    that a result does not depend on reassociation; such code is not cached).
    Default ``1``.
"""

import os


def _env_flag(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


_USE_FASTMATH = _env_flag("FASTLOGREG_FASTMATH", True)

# A restricted fast-math set: reassociation lets LLVM vectorise the dot products
# and reductions, contraction gives FMAs.  No 'nnan'/'ninf', so NaN and inf keep
# their IEEE meaning and the input checks stay valid.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"} if _USE_FASTMATH else False

# numba's cache key does not include the compile flags, so code compiled without
# fast-math is never cached (it would be mixed up with the default build).  Nor does
# the key see this module (nor _math.py or _llvm.py): after editing a constant below,
# delete the cache (fastlogreg/__pycache__/*.nbi and *.nbc; see README, Development).
CACHE = _env_flag("FASTLOGREG_CACHE", True) and _USE_FASTMATH

# Options shared by every jitted function: exact IEEE arithmetic.  The scalar math
# (exp, log1p, the loss) must be compiled this way: reassociation would undo its
# exact range reduction.
JIT_OPTIONS = {"cache": CACHE, "nogil": True, "error_model": "numpy"}

# For the linear-algebra loops only (dot products, axpys, sums): there reassociation
# is what lets LLVM vectorise a reduction.  They never call the scalar math.
REDUCTION_OPTIONS = dict(JIT_OPTIONS, fastmath=FASTMATH)

# The per-example math (exp, log1p, σ) with fused multiply-adds and no other
# fast-math flag: no reassociation, so the exact range reductions of _math stay
# exact.  Without 'contract', the speed of a pass depended on what numba's cache held:
# a kernel compiled together with example_terms ran 15% faster on 4e6 x 10 than one
# compiled while example_terms came from the cache (object code that LLVM cannot
# inline, so the kernel calls it), which happens in ordinary use, e.g. a large fit in
# the session after a small one (17.5 vs 20.5-21 ms, float64 and float32, in one
# process).  Compiled with 'contract', the called copy runs as fast (17.5-18 ms).
TERMS_OPTIONS = dict(JIT_OPTIONS, fastmath={"contract"} if FASTMATH else False)


def cpuinfo_field(name):
    """The first value of field ``name`` in Linux's /proc/cpuinfo ('vendor_id':
    'GenuineIntel', 'AuthenticAMD', ...; 'model name'), or '' where there is none."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


# Rows are processed in tiles (see _kernels), and the best tile size depends on the
# CPU: the figures below were measured in one process (time of a pass, the kernel
# with these tiles against others) on two 2-core VMs, an AMD EPYC (32 KiB L1 data
# cache, 1 MiB L2 per core) and an Intel Xeon with AVX-512 FP16 and AMX (48 KiB L1,
# 2 MiB L2 per core).  The tiles are compile-time constants of _kernels.plan; numba's
# cache keys its builds by CPU model, so each machine compiles its own (a cache built
# for NUMBA_CPU_NAME=generic keeps the tiles of the machine that built it: the
# results are the same up to rounding, only the speed differs).
#
# AMD (and any CPU not measured).  Row-major X: 128 rows (fewer, but at least 8,
# when that exceeds 256 KiB, so that the tile stays well inside the L2 cache; since
# 2026-12-08 64 rows for float64, see ROWMAJOR_TILE_ROWS_FLOAT64).
# Measured with the real kernel, 64-row tiles (at most 512 KiB) against these:
# 1e6 x 100 float32 17.8 -> 17.0 ms and 21.3 -> 19.3 ms, float64 32.6 -> 30.5 ms,
# 2e6 x 50 float32 27.7 -> 25.1 ms, 1e5 x 1000 float32 17.0 -> 16.2 ms, float64 27.9
# -> 27.4 ms; H·v and the gradient + Gram pass no slower (with 128 rows and 512 KiB,
# 1e5 x 1000 float32 was 2.5% slower).  Column-major X: tiles of about 768 KiB (64 to
# 2048 rows), so that each feature's segment is long enough for the hardware
# prefetcher while the tile stays in the 1 MiB L2 cache (measured on 1e6 x 100
# float64 F, eight features at a time: 0.83 of read bandwidth with 512-row tiles,
# 0.86 with 1024; 163-row tiles were 0.71 with four at a time).
# Tiles held in L3 instead (4 MiB, up to 8192 rows), which gained on a Zen 3 EPYC with
# a 512 KiB L2 (time with ÷ without 0.88-0.98 against 2 MiB tiles), lost on the Zen
# 4 with 1 MiB L2 (2026-12-05, one process, 9 rounds, against these tiles: 1e6 x 100 F float64
# 1.19, float32 1.17, 1e5 x 1000 F 1.06 and 1.08; H·v 1.06-1.15), so they stay.
# Smaller ones on that Zen 4 (same day, 11 rounds, time with ÷ without): 256 KiB
# 1e6 x 100 F 0.98; 128 KiB 0.95-0.98 there, but 1e5 x 1000 F 0.98 and 1.08, 4e6 x 10
# and 5e5 x 200 F 0.99-1.01; 64 KiB 0.96-1.03: within the noise, no change.
#
# Intel.  There the passes took the time of reading X plus that of their work in
# cache, as if the two never overlapped, until the tiles were made much smaller:
# row-major tiles of at most 32 KiB (at least 2 rows), which fit the L1 cache, so
# that the gradient update re-reads the tile from L1, and column-major tiles of
# 96 KiB (at least 24 rows), since cut to 16 KiB (below).  Time with ÷ without,
# medians of 9 interleaved rounds:
# cost_and_gradient 1e6 x 100 C float64 0.88, float32 0.975; 1e5 x 1000 C 0.93
# and 0.93; 2e6 x 50 and 3e5 x 350 C float64 0.94 and 0.89; 2e4 x 5000 C float64
# 0.91; 1e6 x 100 F 0.69 and 0.71; 1e5 x 1000 F 0.88 and 0.80; 4e6 x 10 0.92-0.99;
# H·v alike (1e6 x 100 F 0.66 and 0.70), the gradient + Gram pass 0.82-0.99 (1e6 x
# 100 F float32 1.05, within noise).  Row-major budgets of 16 and 64 KiB, a floor of
# 8 rows (1e5 x 1000 float64: 0.99 instead of 0.95), and column-major tiles of 64,
# 128, 192 and 256 KiB were slower (measured before the prefetch cap below); 8-row
# column-major tiles were pathological (1e5 x 1000 F float64: 2x the time).  Once
# prefetches asked for at most a KiB per feature, 16 KiB column-major tiles beat 96
# (2026-12-06/07, one process, 11-15 rounds, time with ÷ without): cost_and_gradient
# 4e6 x 10 F 0.86-0.93, 2e6 x 20 F 0.835-0.875, 8e6 x 5 F 0.91-0.95, 1e6 x 100 F
# 0.86-0.90; H·v 4e6 x 10 F 0.88-0.92, 2e6 x 20 F 0.86-0.92, 1e6 x 100 F 0.87-0.91;
# the gradient + Gram pass 0.82-1.07 (compute-bound: noise); H·v 1e5 x 1000 F, whose
# tiles are the floor rows either way, unchanged (1.00).  32 KiB gained less
# (0.87-0.99), 8 KiB was mixed (0.89-1.20).  For 1e5 x 1000 F float64 (0.77 of read),
# floors of 48 and 32 rows measured 0.99 and 1.08, 96 rows (768 KiB tiles) 1.20, and
# 256- or 512-row tiles (2 or 4 MiB, from L2 or L3) 1.38-1.47 (float32 1.45-1.47).
# Wide column-major X, where the tile bytes hold few rows, gets at least 64 float64
# rows (512-byte segments per feature) or 96 float32 rows (384 bytes), as long as
# the tile stays within 512 KiB (of the L2's 2 MiB: the next tile is prefetched
# beside it), and at least 24 rows beyond that.
# Time with ÷ without (24 rows), one process, 11-15 rounds: 1e5 x 1000 F float64
# 0.92-0.93, float32 0.92; 2e5 x 500 F 0.94 and 0.84; 5e4 x 2000 F and 2e4 x 5000 F
# (capped) 0.98-1.005.  Uncapped, 5e4 x 2000 F float64 with 64 rows (1 MiB tiles)
# took 1.67x the time; 512-byte float32 and 384-byte float64 segments gained less
# (0.86-0.97 and 0.98-1.02).
_INTEL = cpuinfo_field("vendor_id") == "GenuineIntel"
# AMD's family 19h with AVX-512 is Zen 4 (Zen 3, of the same family, has no AVX-512;
# Zen 5 is family 1Ah).
_ZEN4 = (
    cpuinfo_field("vendor_id") == "AuthenticAMD"
    and cpuinfo_field("cpu family") == "25"
    and "avx512f" in cpuinfo_field("flags").split()
)
if _INTEL:
    ROWMAJOR_MAX_TILE_BYTES = 32 * 1024
    MIN_TILE_ROWS_ROWMAJOR = 2
    COLMAJOR_TILE_BYTES = 16 * 1024
    MIN_TILE_ROWS_COLMAJOR = 24
    COLMAJOR_FLOOR_ROWS_FLOAT64 = 64
    COLMAJOR_FLOOR_ROWS_FLOAT32 = 96
else:
    ROWMAJOR_MAX_TILE_BYTES = 256 * 1024
    MIN_TILE_ROWS_ROWMAJOR = 8
    COLMAJOR_TILE_BYTES = 768 * 1024
    MIN_TILE_ROWS_COLMAJOR = 64
    COLMAJOR_FLOOR_ROWS_FLOAT64 = COLMAJOR_FLOOR_ROWS_FLOAT32 = MIN_TILE_ROWS_COLMAJOR
# Of each feature's segment of a column-major tile, software prefetches ask for at
# most this many bytes (see _kernels._prefetch_features): a short segment whole, a
# long one its first KiB, from which the hardware prefetcher runs on along the
# column.  On the Intel Xeon, where a tile of few features held long segments (4e6 x
# 10 F, in the 96 KiB tiles of then: 2048 float32 rows, 8 KiB per feature; in 16 KiB
# tiles 409 rows, 1.6 KiB), prefetching them whole stalled the
# update behind a burst of hundreds of prefetches.  Measured there (2026-12-06, one
# process, 11 interleaved rounds, time with ÷ without the cap): cost_and_gradient
# 4e6 x 10 F float32 0.90, float64 0.93; 2e6 x 20 F 0.89 and 0.93; 1.2e6 x 32 F 0.84
# and 0.93; 8e6 x 5 F 0.91 and 0.90; H·v 4e6 x 10 F 0.855 and 0.90 (0.66 -> 0.77 and
# 0.65 -> 0.72 of read bandwidth), 2e6 x 20 F 0.85 and 0.88.  No prefetch at all for
# such segments gained less (cost_and_gradient 4e6 x 10 F 0.93-0.94, H·v 0.89) and
# lost on the short ones (1e6 x 100 F float32 1.44, 1e5 x 1000 F float32 1.92).  A cap
# of 512 bytes lost on 1e6 x 100 F (976-byte segments: 1.13-1.17), 2 KiB gained
# nothing over 1 KiB (0.99-1.03).  On an AMD EPYC Zen 5 (numba "znver5"; 48 KiB L1,
# 1 MiB L2 per core; its 768 KiB tiles hold 983 float64 rows of 1e6 x 100 F, 7.7 KiB
# per feature) the cap gained too (2026-12-07, one process, 11-15 interleaved rounds,
# time with ÷ without): cost_and_gradient 1e6 x 100 F float64 0.885-0.91, float32
# 0.86-0.94; 4e6 x 10 F float64 0.91-0.925; 2e6 x 20 F float32 0.94; H·v 1e6 x 100 F
# 0.85 and 0.91, 4e6 x 10 F float64 0.905; but 4e6 x 10 F float32, bound by its
# exponentials, 1.04-1.07 (H·v 0.99-1.03).  Caps of 512, 2048 and 4096 bytes, and of
# 128 rows of either dtype, gained less.  Segments of up to 1 KiB (1e5 x 1000 F) are
# prefetched whole either way.  On the AMD EPYC Zen 4 (numba "znver4"; 32 KiB L1,
# 1 MiB L2 per core) the cap lost (2026-12-08, one process, 15-21 interleaved rounds,
# time without ÷ with, medians and medians of paired ratios): cost_and_gradient
# 4e6 x 10 F float32 0.875-0.92, float64 1.00; 1e6 x 100 F float32 0.92-0.99, float64
# 0.92-0.985; H·v 4e6 x 10 F 0.93-0.95, 1e6 x 100 F float32 0.94-0.985; the
# gradient + Gram pass, bound by its work, 1.02-1.03.  There the segments are
# prefetched whole (a cap of the longest segment a tile has).  Not measured on a
# Zen 3, which keeps the cap.
MAX_TILE_ROWS_COLMAJOR = 2048
COLMAJOR_PREFETCH_MAX_BYTES = MAX_TILE_ROWS_COLMAJOR * 8 if _ZEN4 else 1024
# A column-major tile holds COLMAJOR_TILE_BYTES, but no fewer rows than its dtype's
# floor while that fits COLMAJOR_FLOOR_MAX_BYTES, and never fewer than
# MIN_TILE_ROWS_COLMAJOR (see _kernels.plan_blocks).
COLMAJOR_FLOOR_MAX_BYTES = 512 * 1024
# Row-major rows of more than REGISTER_ROW_MAX_FEATURES features go in tiles of at
# most this many rows (and at most ROWMAJOR_MAX_TILE_BYTES); on the AMD EPYC, float64
# rows in 64-row tiles.  Measured in one process, 64 ÷ 128 rows (time, medians and
# medians of paired ratios, 15-21 interleaved rounds): on the Zen 4 (2026-12-08)
# cost_and_gradient float64 1e6 x 100 C 0.95-0.96, 2e6 x 50 0.95-0.956, 5e5 x 200
# 0.957-0.964, 3e5 x 350 0.954-0.975, H·v 1e6 x 100 0.98-0.99; on the Zen 3
# (2026-12-07, a noisy host) 1e6 x 100 float64 0.945-0.947 (32 rows 0.90-0.976, 16
# rows 1.046).  float32 rows keep 128: Zen 4 1e6 x 100 0.96, H·v 0.95-0.96, 2e6 x 50
# 1.01; Zen 3 1.027 (32 rows 1.10).  The Gram pass keeps 128-row tiles: it
# transposes each one, and 64 rows took 1.32-1.40x the time (Zen 4, 1e6 x 100
# float64).
ROWMAJOR_TILE_ROWS_FLOAT64 = 128 if _INTEL else 64
ROWMAJOR_TILE_ROWS_FLOAT32 = 128
GRAM_ROWMAJOR_TILE_ROWS = 128
# Row-major rows of at most this many bytes (and more than REGISTER_ROW_MAX_FEATURES
# features) have the next tile prefetched into L2 while a tile is worked on: half of
# it during the margins sweep, the other half during the gradient update, so that X
# streams in through both sweeps instead of during the first alone (see
# _kernels._next_tile_rows).  Measured in one process on the AMD EPYC (with the
# earlier row-by-row halves), time with ÷ without: 1e6 x 100 float32 0.80-0.86,
# float64 0.86-0.94; 2e6 x 50 0.93 and 0.85; 5e5 x 200 0.84 and 0.95; 3e5 x 350
# float64 0.88; H·v on 1e6 x 100 0.84 and 0.93.
# Longer rows lost: 1e5 x 1000 float32 1.03-1.04, float64 1.09-1.26 (also with the
# prefetches spread through each row in 512- or 1024-byte pieces: 1.02-1.09).  On the
# Intel Xeon, rows of 4000 bytes gained (2e5 x 500 float64 0.96, 1e5 x 1000 float32
# 0.89), rows of 8000 bytes lost (1e5 x 1000 float64 1.10, 5e4 x 2000 float32 1.10,
# 2e4 x 5000 float64 1.25).
ROWMAJOR_PREFETCH_MAX_ROW_BYTES = 3 * 1024
# On the Intel Xeon, longer rows have the next tile prefetched in small pieces spread
# through both sweeps instead: a piece of ROWMAJOR_SPREAD_PIECE_BYTES of the next tile
# per as many bytes of the current rows worked on (see _kernels._spread_rows): the
# memory stream then never waits for a sweep, nor a sweep for a burst of prefetches.
# Measured in one process, 15-21 interleaved rounds, time with ÷ without (which, for
# rows above 4 KiB, meant no prefetch at all): 1e5 x 1000 float64 0.79-0.85 (0.65 ->
# 0.80 of read bandwidth), float32 0.91-0.94 (4000-byte rows, which had the per-row
# halves); 2e4 x 5000 float64 0.80, float32 0.80; H·v 1e5 x 1000 float64 0.79-0.84,
# float32 0.91-0.94, 2e4 x 5000 0.90 and 0.73; 2e5 x 500 float64 (4000-byte rows)
# 0.98-1.03.  Other pieces, 1e5 x 1000 float64: 256 bytes 0.88, 512 bytes 0.83, 2048
# bytes 0.87 (1024 bytes 0.82-0.85 in the same runs); rows of 1600 and 2800 bytes lost
# with it (5e5 x 200 float64 1.075, 3e5 x 350 float64 1.04: they keep the per-row halves), and
# tiles of 16, 64 or 128 KiB for the long rows measured as the 32 KiB ones.  The AMD
# EPYC lost with such pieces (above), so there the long rows keep no prefetch.
ROWMAJOR_SPREAD_PREFETCH = _INTEL
ROWMAJOR_SPREAD_PIECE_BYTES = 1024

# Row-major rows of at most this many features get the margins and the gradient
# update of _llvm (margins_rows, accumulate_rows), written in LLVM IR: for short rows
# the per-row overhead of a loop over the features (its setup, the horizontal sum of
# a dot product, a load and store of the gradient per row) dominates.  Longer rows keep
# numba's loops, which LLVM vectorises along the row.
REGISTER_ROW_MAX_FEATURES = 32
# ... and on AVX-512 CPUs other than Intel's (AMD's Zen 4 runs a 512-bit operation as
# two 256-bit halves), the rows of up to this many features (by X's dtype) go in
# vectors of 4 float64 lanes instead of 8 (see _llvm.row_widths).  Measured on the
# Zen 4 EPYC, one process, interleaved rounds, time with 4 lanes ÷ with 8 for every
# row, both kernels (15-21 rounds): cost_and_gradient float32 4e6 x 10 0.86-0.89,
# 8e6 x 5 0.95-0.97, 2e6 x 16 0.93-0.94, but 1.6e6 x 24 1.01 and 1.2e6 x 32
# 0.98-1.08; float64 4e6 x 10 0.975-0.98, 8e6 x 5 0.98-0.99, but 2e6 x 16
# 1.01-1.02, 1.6e6 x 24 1.09 and 1.2e6 x 32 1.11-1.19; H·v float32 4e6 x 10 0.84,
# 2e6 x 16 0.89, 8e6 x 5 0.955; float64 4e6 x 10 0.97, 8e6 x 5 0.93.  With these
# limits, against 8 lanes for every row (21-31 rounds): cost_and_gradient float32
# 4e6 x 10 0.89-0.92, 8e6 x 5 0.97-1.03, 2e6 x 16 0.97-0.98, float64 4e6 x 10 0.97,
# 8e6 x 5 0.98; H·v float32 4e6 x 10 0.89, 2e6 x 16 0.97; rows of 32 features
# (unchanged code) 1.02-1.03.  Not measured on Intel, whose AVX-512 units are 512
# bits wide: there all rows keep 8 lanes.
REGISTER_ROW_256_BIT_MAX_FEATURES = {} if _INTEL else {"float32": 16, "float64": 10}
# ... and a pass over such rows goes in tiles of this many rows (at most 256 KiB):
# the per-tile work (the per-example terms' loop, the sums into registers and out of
# them) is then a smaller share.  Measured in one process, tiles of 64 / 256 / 1024 /
# 2048 rows: 4e6 x 10 float32 21.4 / 17.6 / 15.1 ms (2048: 7% faster than 1024),
# float64 25.8 / 21.0 / 18.8 ms, 1.2e6 x 32 float64 16.1 / 12.9 / 11.3 ms, 8e6 x 5
# float64 32.9 / 29.3 / 25.4 ms; H·v 4e6 x 10 float32 15.4 / 14.1 / 12.5 ms, float64
# 14.6 / 16.3 / 15.4 ms (within noise), 1.2e6 x 32 float64 13.3 / 11.0 / 9.9 ms.
# On the Intel Xeon, 256 / 512 / 2048 rows against 1024 (time ratio, one process, 15
# rounds): 4e6 x 10 float64 0.93 / 0.97 / 0.98, float32 1.00 / 0.99 / 1.00, H·v
# float64 0.98 / 0.98 / 0.97, 1.2e6 x 32 float64 1.02 / 1.02 / 1.05: no change.
# On the AMD EPYC Zen 4 (with the 4-lane short rows and the pieces prefetched, below),
# 2048 against 1024 rows, 21 rounds: 4e6 x 10 1.04 and 0.99, 8e6 x 5 1.02 and 0.985,
# 1.2e6 x 32 1.02 and 1.07: no change.
REGISTER_ROW_TILE_ROWS = 1024
# The tile's sweeps over such rows go in pieces of
# REGISTER_ROW_PREFETCH_PIECE_ROWS rows, and before each piece its part of the next
# tile is prefetched (half of the next tile during the margins, half during the
# update), so that the memory stream runs through the whole tile's work instead of
# the margins sweep alone: float32 rows of up to 32 features and float64 rows of up
# to 10 (80 bytes).  Measured in one process, 15-25 interleaved rounds, time with ÷
# without: cost_and_gradient 4e6 x 10 float64 0.85-0.87 (0.51 -> 0.58 of read),
# float32 0.79-0.83 (0.44 -> 0.53-0.57), 8e6 x 5 float64 0.84, float32 0.86,
# 2e6 x 16 float32 0.82, 1.3e6 x 30 float32 0.82, 1.2e6 x 32 float32 0.95; H·v
# 4e6 x 10 float64 0.83-0.87, float32 0.71-0.75 (0.57 -> 0.78-0.81 of read),
# 1.3e6 x 30 float32 0.77.  Longer float64 rows lost (3e6 x 12 1.06, 2e6 x 16
# 1.01-1.23, 1.2e6 x 32 1.05-1.11; H·v 0.96-1.08) and keep the hardware prefetcher.
# Pieces of 16 rows measured as 32; 64 rows gained less on float64 (0.89-0.98),
# 128 rows less again (0.95-0.99).  The same on the AMD EPYC Zen 4 (with the 4-lane
# short rows above; one process, 21-25 interleaved rounds, time with ÷ without):
# cost_and_gradient 4e6 x 10 float64 0.91-0.99, float32 0.88-0.96, 8e6 x 5 float64
# 0.84-0.85 but float32 1.02 (twice), 2e6 x 16 float32 0.92, 1.3e6 x 30 float32
# 0.91, 1.2e6 x 32 float32 0.93; H·v 4e6 x 10 float64 0.99, float32 0.905, 8e6 x 5
# 0.87 and 0.98, 2e6 x 16 float32 0.96; pieces of 64 rows against 32 there:
# 0.97-1.05, no change.  (An earlier scheme of the kind on the AMD EPYC, 128-row
# pieces with the prefetch after each, lost on the longer rows: 1.1-1.24.)
REGISTER_ROW_PREFETCH = True
REGISTER_ROW_PREFETCH_PIECE_ROWS = 32
REGISTER_ROW_PREFETCH_MAX_BYTES_FLOAT32 = 32 * 4
REGISTER_ROW_PREFETCH_MAX_BYTES_FLOAT64 = 10 * 8
# The Hessian-vector product over such rows goes in one sweep (_llvm.hessp_rows: each
# row read once, its margin, weight and update from registers) instead of the margins,
# the per-example step and the update of a pass.  Measured on the Intel Xeon (Emerald
# Rapids), one process, 15-21 interleaved rounds, time one sweep ÷ three: 4e6 x 10
# float64 0.84-0.90 (0.65-0.73 -> 0.76-0.85 of read), float32 0.755-0.80 (0.69-0.71 ->
# 0.87-0.91), 8e6 x 5 0.79-0.89 and 0.73-0.74, 2e6 x 16 0.83-0.905 and 0.88-0.89,
# 1.2e6 x 32 0.91-0.96 and 0.835-0.85.  Its rows' updates go into 2 sets of
# accumulators (_llvm._HESSP_ACCUMULATOR_SETS): against 4, 1 set took 0.96-1.03 of the
# time, 2 sets 0.97-1.00, 8 sets 0.99-1.11.  Rows of 32 float64 features take more
# registers than there are, and LLVM's spills moved with the order of the IR (the
# weights loaded before the lane sums: 1.11).  Not measured on the AMD EPYC.  With the
# sweep in pieces as above and the next tile prefetched (all of it, a part before each
# piece) for rows of up to this many bytes, whatever the dtype: float64 2.7e6 x 12
# 0.85 and 2e6 x 16 0.90 of the time without (21 rounds), but 1.2e6 x 32 1.08 and
# 1.6e6 x 20 1.00.
HESSP_PREFETCH_MAX_ROW_BYTES = 128

# The rows are split into at most this many blocks; each block is one parallel task
# with its own row of float64 partial sums, merged in block order.  The split depends
# only on the shape of X, never on the thread count, so results are bitwise identical
# for any number of threads.
MAX_BLOCKS = 128

# Below this size of X, kernels run serially: starting a parallel region costs more
# than the pass itself (and much more when the machine is busy).
PARALLEL_MIN_BYTES = 256 * 1024

# Up to this many features, the Gram matrix of a Newton step is accumulated by our
# kernels (in parallel, fused with the gradient pass; see _kernels), above it by BLAS
# on chunks of rows (see _problem).  Measured in one process, gradient + Gram, time of
# NumPy's XᵀX (one BLAS thread) ÷ ours, kernel / BLAS path (float64, C):
# 4e6 x 10 1.06 / 0.40, 1.25e6 x 32 1.19 / 0.67, 6.25e5 x 64 1.12 / 0.84,
# 1e6 x 100 1.37 / 0.93.
GRAM_KERNEL_MAX_FEATURES = 128

# ... and for X of at least this size: below it the kernel saves a fraction of a
# millisecond per Newton step (1e4 x 10: 0.1 ms instead of 0.3), while compiling it
# takes about 7 s, once (then cached): small fits, the first ones a user runs,
# stay on BLAS.
GRAM_KERNEL_MIN_BYTES = 256 * 1024

# The Gram kernel splits the rows into at most this many blocks (fewer than a pass:
# each block keeps its own (n + 1)² matrix and a transposed tile, at most 6.4 MB in
# all at 128 features).
GRAM_MAX_BLOCKS = 32
