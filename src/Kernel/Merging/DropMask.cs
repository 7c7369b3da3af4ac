using System.IO.Hashing;

namespace Ckpt.Merging;

/// <summary>
/// DARE's random drop, as a counter-based generator: whether element e of tensor t of model m survives is a
/// pure function of (seed, m, t, e). The same seed gives the same masks whatever the chunking, order or
/// thread count, and the stream does not depend on System.Random's implementation.
/// </summary>
public static class DropMask
{
    /// <summary>A 64-bit key for one model's copy of one tensor.</summary>
    public static ulong Key(ulong seed, int model, string tensor) =>
        Mix(seed ^ Mix((ulong)model + 0x9E37_79B9_7F4A_7C15UL) ^ XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(tensor)));

    /// <summary>A uniform draw in [0, 1) for one element.</summary>
    public static double Uniform(ulong key, long element) =>
        (Mix(key ^ Mix((ulong)element * 0xD1B5_4A32_D192_ED03UL + 1)) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Kept with probability <paramref name="density"/>.</summary>
    public static bool Keeps(ulong key, long element, double density) => Uniform(key, element) < density;

    // SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijection with full avalanche.
    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }
}
