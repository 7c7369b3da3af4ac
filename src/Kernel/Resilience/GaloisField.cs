using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ckpt.Resilience;

/// <summary>
/// Arithmetic in GF(2^8) with the polynomial x^8+x^4+x^3+x^2+1 (0x11D), the field of most Reed-Solomon
/// storage codes. Addition is XOR. Multiplying a buffer by a constant uses two 16-entry nibble tables
/// (c*lo ^ c*hi), which AVX2's byte shuffle evaluates 32 bytes at a time.
/// </summary>
internal static class GaloisField
{
    const int Polynomial = 0x11D;
    static readonly byte[] _exp = new byte[512];
    static readonly byte[] _log = new byte[256];
    static readonly byte[] _mul = new byte[256 * 256];
    static readonly byte[] _nibbles = new byte[256 * 32]; // per coefficient: c*x for x in 0..15, then c*(x<<4)

    static GaloisField()
    {
        int x = 1;
        for (int i = 0; i < 255; i++)
        {
            _exp[i] = (byte)x;
            _log[x] = (byte)i;
            x <<= 1;
            if ((x & 0x100) != 0) x ^= Polynomial;
        }
        for (int i = 255; i < 512; i++) _exp[i] = _exp[i - 255];
        for (int a = 0; a < 256; a++)
        for (int b = 0; b < 256; b++)
            _mul[a * 256 + b] = a == 0 || b == 0 ? (byte)0 : _exp[_log[a] + _log[b]];
        for (int c = 0; c < 256; c++)
        for (int n = 0; n < 16; n++)
        {
            _nibbles[c * 32 + n] = _mul[c * 256 + n];
            _nibbles[c * 32 + 16 + n] = _mul[c * 256 + (n << 4)];
        }
    }

    public static byte Multiply(byte a, byte b) => _mul[a * 256 + b];

    public static byte Inverse(byte a) =>
        a == 0 ? throw new DivideByZeroException("0 has no inverse in GF(2^8)") : _exp[255 - _log[a]];

    public static byte Divide(byte a, byte b) => Multiply(a, Inverse(b));

    /// <summary>dst = c * src (overwrite) when <paramref name="accumulate"/> is false, dst ^= c * src otherwise.</summary>
    public static void MultiplyInto(byte c, ReadOnlySpan<byte> src, Span<byte> dst, bool accumulate)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination is shorter than source", nameof(dst));
        int n = src.Length, i = 0;
        if (c == 0)
        {
            if (!accumulate) dst[..n].Clear();
            return;
        }
        if (c == 1 && !accumulate)
        {
            src.CopyTo(dst);
            return;
        }
        ref byte s = ref MemoryMarshal.GetReference(src);
        ref byte d = ref MemoryMarshal.GetReference(dst);
        if (Avx2.IsSupported && n >= 32)
        {
            var tables = _nibbles.AsSpan(c * 32, 32);
            var lo128 = Vector128.Create((ReadOnlySpan<byte>)tables[..16]);
            var hi128 = Vector128.Create((ReadOnlySpan<byte>)tables[16..]);
            var lo = Vector256.Create(lo128, lo128);
            var hi = Vector256.Create(hi128, hi128);
            var mask = Vector256.Create((byte)0x0F);
            for (; i <= n - 32; i += 32)
            {
                var v = Vector256.LoadUnsafe(ref s, (nuint)i);
                var p = Avx2.Shuffle(lo, v & mask) ^ Avx2.Shuffle(hi, Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & mask);
                if (accumulate) p ^= Vector256.LoadUnsafe(ref d, (nuint)i);
                p.StoreUnsafe(ref d, (nuint)i);
            }
        }
        ref byte row = ref _mul[c * 256];
        for (; i < n; i++)
        {
            byte p = Unsafe.Add(ref row, Unsafe.Add(ref s, i));
            Unsafe.Add(ref d, i) = accumulate ? (byte)(Unsafe.Add(ref d, i) ^ p) : p;
        }
    }

    /// <summary>Inverts a square matrix by Gauss-Jordan elimination; throws if it is singular.</summary>
    public static byte[,] Invert(byte[,] matrix)
    {
        int n = matrix.GetLength(0);
        if (matrix.GetLength(1) != n) throw new ArgumentException("matrix is not square", nameof(matrix));
        var a = (byte[,])matrix.Clone();
        var inv = new byte[n, n];
        for (int i = 0; i < n; i++) inv[i, i] = 1;
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            while (pivot < n && a[pivot, col] == 0) pivot++;
            if (pivot == n) throw new InvalidOperationException("matrix is singular");
            if (pivot != col)
                for (int j = 0; j < n; j++)
                {
                    (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
                    (inv[col, j], inv[pivot, j]) = (inv[pivot, j], inv[col, j]);
                }
            byte scale = Inverse(a[col, col]);
            for (int j = 0; j < n; j++)
            {
                a[col, j] = Multiply(a[col, j], scale);
                inv[col, j] = Multiply(inv[col, j], scale);
            }
            for (int r = 0; r < n; r++)
            {
                if (r == col || a[r, col] == 0) continue;
                byte f = a[r, col];
                for (int j = 0; j < n; j++)
                {
                    a[r, j] ^= Multiply(f, a[col, j]);
                    inv[r, j] ^= Multiply(f, inv[col, j]);
                }
            }
        }
        return inv;
    }
}
