using System.Buffers.Binary;

namespace Ckpt.Tests.Fuzzing;

/// <summary>
/// Structure-unaware mutations of a checkpoint file, biased towards headers and metadata where the
/// parsers live: bit flips, interesting bytes, huge little-endian integers, truncation, splices.
/// </summary>
public sealed class Mutator(int seed)
{
    readonly Random _rng = new(seed);
    static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'{', (byte)'}', (byte)'"', (byte)'.', 0x28, 0x29, 0x2E, 0x71, 0x94, 0x95];

    public (byte[] Bytes, string Description) Mutate(byte[] original)
    {
        var b = (byte[])original.Clone();
        int hot = Math.Min(b.Length, 4096);
        int Pos() => b.Length == 0 ? 0 : _rng.Next(4) == 0 ? _rng.Next(b.Length) : _rng.Next(Math.Max(hot, 1));
        switch (_rng.Next(7))
        {
            case 0:
            {
                int n = 1 + _rng.Next(8);
                for (int i = 0; i < n && b.Length > 0; i++) { int p = Pos(); b[p] ^= (byte)(1 << _rng.Next(8)); }
                return (b, $"{n} bit flips");
            }
            case 1:
            {
                if (b.Length == 0) return (b, "empty");
                int p = Pos(); b[p] = Interesting[_rng.Next(Interesting.Length)];
                return (b, $"byte {p} set");
            }
            case 2:
            {
                if (b.Length < 8) return (b, "short");
                int p = Math.Min(Pos(), b.Length - 8);
                ulong v = _rng.Next(4) switch { 0 => ulong.MaxValue, 1 => 1UL << 62, 2 => (ulong)b.Length * 2, _ => 0x7FFF_FFFF };
                BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(p), v);
                return (b, $"u64 at {p} = {v}");
            }
            case 3:
            {
                int len = _rng.Next(b.Length + 1);
                return (b[..len], $"truncated to {len}");
            }
            case 4:
            {
                if (b.Length < 2) return (b, "short");
                int p = Pos(), n = 1 + _rng.Next(Math.Min(64, b.Length - p));
                return ([.. b[..p], .. b[Math.Min(b.Length, p + n)..]], $"deleted {n} at {p}");
            }
            case 5:
            {
                int p = Pos(), n = 1 + _rng.Next(64);
                var ins = new byte[n]; _rng.NextBytes(ins);
                return ([.. b[..p], .. ins, .. b[p..]], $"inserted {n} at {p}");
            }
            default:
            {
                if (b.Length < 16) return (b, "short");
                int src = _rng.Next(b.Length - 8), dst = Pos(), n = Math.Min(1 + _rng.Next(32), Math.Min(b.Length - src, b.Length - dst));
                Array.Copy(original, src, b, dst, n);
                return (b, $"copied {n} from {src} to {dst}");
            }
        }
    }
}
